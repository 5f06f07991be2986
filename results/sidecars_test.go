package results

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSummarizeSidecarConnections checks that the connection pools'
// counts are summed over the replications and over the caller's
// instances, that the most open connections is the largest peak rather
// than a sum, and that a proxy without pools has zero counts and no
// max_open_connections in summary.json.
func TestSummarizeSidecarConnections(t *testing.T) {
	v := &Variant{Name: "only"}
	for i := range int64(3) {
		v.Replications = append(v.Replications, Replication{Index: int(i), Sidecars: []Sidecar{
			// Two instances of web, each with its own sidecar to checkout.
			{Caller: "web", Service: "checkout", Pooled: true,
				ConnectionsOpened: 10 + i, ConnectFailures: 1, ConnectionsClosed: 8 + i,
				ConnectionOverflows: 2 * i, PendingOverflows: i, MaxOpenConnections: 4 + int(i)},
			{Caller: "web", Service: "checkout", Pooled: true,
				ConnectionsOpened: 1, ConnectionsClosed: 1, MaxOpenConnections: 9 - int(i)},
			{Caller: "web", Service: "search"},
		}})
	}
	got := summarizeSidecars(v)
	require.Len(t, got, 2)

	tests := []struct {
		name string
		got  SidecarSummary
		want SidecarSummary
	}{
		{"pooled", got[0], SidecarSummary{Caller: "web", Service: "checkout",
			ConnectionsOpened: 10 + 11 + 12 + 3, ConnectFailures: 3, ConnectionsClosed: 8 + 9 + 10 + 3,
			ConnectionOverflows: 0 + 2 + 4, PendingOverflows: 0 + 1 + 2, MaxOpenConnections: intPtr(9)}},
		{"no pools", got[1], SidecarSummary{Caller: "web", Service: "search"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want.ConnectionsOpened, tt.got.ConnectionsOpened, "connections_opened")
			assert.Equal(t, tt.want.ConnectFailures, tt.got.ConnectFailures, "connect_failures")
			assert.Equal(t, tt.want.ConnectionsClosed, tt.got.ConnectionsClosed, "connections_closed")
			assert.Equal(t, tt.want.ConnectionOverflows, tt.got.ConnectionOverflows, "connection_overflows")
			assert.Equal(t, tt.want.PendingOverflows, tt.got.PendingOverflows, "pending_overflows")
			assert.Equal(t, tt.want.MaxOpenConnections, tt.got.MaxOpenConnections, "max_open_connections")

			js, err := json.Marshal(tt.got)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(js, &m))
			for _, k := range []string{"connections_opened", "connect_failures", "connections_closed", "connection_overflows", "pending_overflows"} {
				assert.Contains(t, m, k, "always present, 0 without pools")
			}
			_, has := m["max_open_connections"]
			assert.Equal(t, tt.want.MaxOpenConnections != nil, has, "max_open_connections only with pools")
		})
	}
}

func intPtr(n int) *int { return &n }

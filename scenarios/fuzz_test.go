package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// an ErrorList of at most maxErrors positioned errors wrapping ErrInvalid,
// and that a document it accepts always expands.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	for _, tc := range badCases {
		f.Add([]byte(tc.yaml))
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, e := range Library() {
		files = append(files, filepath.Join("library", e.Name+".yaml"))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\nversion: *a\n"))
	f.Add([]byte("services: &s [{<<: *s}]\n"))
	f.Add([]byte("version: 1\nvariants: [{name: a, set: {services.x.y: *q}}]\n"))
	f.Add([]byte(sweepHead + "precision: {metric: p99, workload: web, half_width: 5%}\nreport: {slo: {p99: 1s, error_rate: 1%}}\n" +
		"variants: [{name: a, set: {}}]\nsweep: {workloads.web.arrival.rate: [1/s, 2/s], services.api.replicas: [1, 2]}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.yaml", data)
		if err != nil {
			if doc != nil {
				t.Fatal("Parse returned a document and an error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || len(list) > maxErrors {
				t.Fatalf("error is not an ErrorList of 1 to %d errors: %v", maxErrors, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, e := range list {
				if e.File != "fuzz.yaml" || e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		res, err := doc.Expand()
		if err != nil {
			t.Fatalf("Parse accepted a document that does not expand: %v", err)
		}
		for _, r := range res {
			if r.Scenario == nil || r.Name == "" {
				t.Fatalf("bad variant %+v", r)
			}
			for _, svc := range r.Scenario.Services {
				if _, err := svc.ServiceTime.Build(); err != nil {
					t.Fatalf("valid service time does not build: %v", err)
				}
			}
			for _, w := range r.Scenario.Workloads {
				if _, err := w.Arrival.Build(); err != nil {
					t.Fatalf("valid arrival does not build: %v", err)
				}
			}
		}
	})
}

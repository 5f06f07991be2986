package scenarios

import (
	"errors"
	"fmt"
	"strings"

	"github.com/meshsim/meshsim/models/bus"
	"github.com/meshsim/meshsim/models/mesh"
)

// Limits of the bus block, besides those of models/bus.
const (
	maxBrokers = 1000
	// maxRepeats bounds the occurrences of one repeating failure (every:).
	maxRepeats = 100_000
)

// destinations returns the names a workload or a call step may publish
// to: topics, queues and pub/sub topics, in that order.
func (b *Bus) destinations() []string {
	var out []string
	for _, t := range b.Topics {
		out = append(out, t.Name)
	}
	for _, q := range b.Queues {
		out = append(out, q.Name)
	}
	for _, p := range b.PubSub {
		out = append(out, p.Name)
	}
	return out
}

// readable returns the names queue consumers may read: queues and
// subscriptions.
func (b *Bus) readable() []string {
	var out []string
	for _, q := range b.Queues {
		out = append(out, q.Name)
	}
	for _, p := range b.PubSub {
		for _, s := range p.Subscriptions {
			out = append(out, s.Name)
		}
	}
	return out
}

// bus checks the bus block: names, references between its entities, each
// entity's settings (through the models' own validation, reported at the
// field it names), and which entities nothing uses.
func (c *checker) bus(s *Scenario) {
	b := &s.Bus
	if b.Brokers < 0 || b.Brokers > maxBrokers {
		c.errorf("bus.brokers", false, "", "must be between 1 and %d, got %d", maxBrokers, b.Brokers)
	}
	if b.ElectionDelay != nil {
		c.dist("bus.election_delay", b.ElectionDelay, false)
	}
	// One namespace for every bus entity and the services: the names
	// become stream names and failure targets.
	type entity = busEntity
	var all []entity
	for i, t := range b.Topics {
		all = append(all, entity{fmt.Sprintf("bus.topics[%d].name", i), t.Name})
	}
	for i, q := range b.Queues {
		all = append(all, entity{fmt.Sprintf("bus.queues[%d].name", i), q.Name})
	}
	for i, p := range b.PubSub {
		all = append(all, entity{fmt.Sprintf("bus.pubsub[%d].name", i), p.Name})
		for k, sub := range p.Subscriptions {
			all = append(all, entity{fmt.Sprintf("bus.pubsub[%d].subscriptions[%d].name", i, k), sub.Name})
		}
	}
	for i, g := range b.Groups {
		all = append(all, entity{fmt.Sprintf("bus.consumer_groups[%d].name", i), g.Name})
	}
	for i, q := range b.Consumers {
		all = append(all, entity{fmt.Sprintf("bus.queue_consumers[%d].name", i), q.Name})
	}
	first := map[string]string{}
	for _, svc := range s.Services {
		if _, ok := first[svc.Name]; !ok && svc.Name != "" {
			first[svc.Name] = "service"
		}
	}
	seen := map[string]int{}
	for _, e := range all {
		if e.name == "" {
			c.missing(e.path, "")
			continue
		}
		c.name(e.path, e.name)
		if what, ok := first[e.name]; ok && seen[e.name] == 0 {
			c.errorf(e.path, false, "bus names share one namespace with services", "name %q is already a %s", e.name, what)
		} else if seen[e.name] > 0 {
			line, _ := c.pos.at(firstPath(all, e.name))
			c.errorf(e.path, false, fmt.Sprintf("first defined at line %d", line), "duplicate bus name %q", e.name)
		}
		seen[e.name]++
	}

	cluster := max(b.Brokers, 1)
	for i, t := range b.Topics {
		p := fmt.Sprintf("bus.topics[%d]", i)
		c.enum(p+".overflow", t.Overflow, overflowNames)
		if t.ReplicationDelay != nil && c.dist(p+".replication_delay", t.ReplicationDelay, false) == nil {
			continue
		}
		if cfg, err := t.config(); err == nil {
			cfg.Brokers = cluster
			c.busErr(p, cfg.Validate())
		}
		c.producer(p+".producer", t.Producer, t.Name)
	}
	for i, q := range b.Queues {
		p := fmt.Sprintf("bus.queues[%d]", i)
		c.enum(p+".overflow", q.Overflow, overflowNames)
		if q.ReplicationDelay != nil && c.dist(p+".replication_delay", q.ReplicationDelay, false) == nil {
			continue
		}
		if cfg, err := q.config(); err == nil {
			c.busErr(p, cfg.Validate())
		}
		c.producer(p+".producer", q.Producer, q.Name)
	}
	for i, ps := range b.PubSub {
		p := fmt.Sprintf("bus.pubsub[%d]", i)
		if len(ps.Subscriptions) == 0 {
			c.errorf(p, false, "e.g. subscriptions: [{name: search}]", "a pub/sub topic needs at least one subscription")
		}
		for k, sub := range ps.Subscriptions {
			c.busErr(fmt.Sprintf("%s.subscriptions[%d]", p, k), sub.config().Validate())
		}
		c.producer(p+".producer", ps.Producer, ps.Name)
	}
	topics := make([]string, len(b.Topics))
	for i, t := range b.Topics {
		topics[i] = t.Name
	}
	services := make([]string, len(s.Services))
	for i, svc := range s.Services {
		services[i] = svc.Name
	}
	for i, g := range b.Groups {
		p := fmt.Sprintf("bus.consumer_groups[%d]", i)
		c.ref(p+".topic", g.Topic, topics, "topic", "topics")
		c.enum(p+".strategy", g.Strategy, strategyNames)
		c.enum(p+".commit", g.Commit, commitNames)
		c.delivery(p, g.Delivery, g.Dedup != nil)
		if g.Delivery != "" && c.pos.present(p+".commit") {
			c.errorf(p+".commit", false, "delivery: "+g.Delivery+" sets the commit; remove one", "commit and delivery together")
		}
		if g.Call != "" {
			c.ref(p+".call", g.Call, services, "service", "services")
		}
		if !c.pos.present(p+".processing_time") && g.Call == "" {
			c.missing(p+".processing_time", "e.g. processing_time: {dist: exponential, mean: 5ms}, or call: <service>")
			continue
		}
		if c.pos.present(p+".processing_time") && c.dist(p+".processing_time", &g.ProcessingTime, false) == nil {
			continue
		}
		if g.Call == "" {
			for _, f := range []string{"max_attempts", "retry_backoff", "dead_letter"} {
				if c.pos.present(p + "." + f) {
					c.errorf(p+"."+f, false, "add call: <service>", "%s applies to a group whose processing calls a service", f)
				}
			}
		}
		if cfg, err := g.config(); err == nil {
			c.busErr(p, cfg.Validate())
		}
	}
	// Read models: valid names, each projected by one reader, at most
	// mesh.MaxReadModels, and one per queue or subscription (its ledger).
	var models []busEntity
	modelOf := map[string]string{} // queue -> read model
	readModel := func(path, name, queue string) {
		if name == "" {
			return
		}
		c.name(path, name)
		if p := firstPath(models, name); p != "" {
			line, _ := c.pos.at(p)
			c.errorf(path, false, fmt.Sprintf("first defined at line %d", line), "read model %q is already projected by another reader", name)
		}
		if m, ok := modelOf[queue]; ok && queue != "" {
			c.errorf(path, false, "", "%s already projects into read model %q", queue, m)
		}
		if queue != "" {
			modelOf[queue] = name
		}
		models = append(models, busEntity{path, name})
		if len(models) == mesh.MaxReadModels+1 {
			c.errorf(path, false, "", "at most %d read models", mesh.MaxReadModels)
		}
	}
	for i, g := range b.Groups {
		readModel(fmt.Sprintf("bus.consumer_groups[%d].read_model", i), g.ReadModel, "")
	}
	readable := b.readable()
	for i, q := range b.Consumers {
		p := fmt.Sprintf("bus.queue_consumers[%d]", i)
		readModel(p+".read_model", q.ReadModel, q.Queue)
		c.ref(p+".queue", q.Queue, readable, "queue or subscription", "queues and subscriptions")
		c.enum(p+".on_failure", q.OnFailure, onFailureNames)
		c.delivery(p, q.Delivery, q.Dedup != nil)
		if q.Delivery == "at_most_once" && c.pos.present(p+".on_failure") {
			c.errorf(p+".on_failure", false, "at most once acks on delivery: there is nothing to nack", "on_failure with delivery: at_most_once")
		}
		if !(q.Poison >= 0 && q.Poison <= 1) {
			c.errorf(p+".poison", false, "", "must be between 0 and 1, got %g", q.Poison)
		}
		if !(q.FailureProbability >= 0 && q.FailureProbability <= 1) {
			c.errorf(p+".failure_probability", false, "", "must be between 0 and 1, got %g", q.FailureProbability)
		}
		if q.Call != "" {
			c.ref(p+".call", q.Call, services, "service", "services")
		}
		if !c.pos.present(p+".processing_time") && q.Call == "" {
			c.missing(p+".processing_time", "e.g. processing_time: {dist: exponential, mean: 20ms}, or call: <service>")
			continue
		}
		if c.pos.present(p+".processing_time") && c.dist(p+".processing_time", &q.ProcessingTime, false) == nil {
			continue
		}
		if cfg, err := q.config(); err == nil {
			c.busErr(p, cfg.Validate())
		}
	}
}

// delivery checks a delivery shorthand: a known contract, and dedup only
// with effectively_once.
func (c *checker) delivery(path, d string, dedup bool) {
	c.enum(path+".delivery", d, deliveryNames)
	if dedup && d != "" && d != "effectively_once" {
		c.errorf(path+".dedup", false, "dedup makes it effectively_once", "dedup with delivery: %s", d)
	}
}

// busEntity is a named entity of the bus block and the path of its name.
type busEntity struct{ path, name string }

// firstPath returns the path of the first entity named name.
func firstPath(all []busEntity, name string) string {
	for _, e := range all {
		if e.name == name {
			return e.path
		}
	}
	return ""
}

// producer checks a destination's producer settings.
func (c *checker) producer(path string, p Producer, dest string) {
	c.enum(path+".acks", p.Acks, acksNames)
	c.enum(path+".keys", p.Keys, keyNames)
	if p.ResponseTime != nil && c.dist(path+".response_time", p.ResponseTime, false) == nil {
		return
	}
	if p.Keys != "zipf" && c.pos.present(path+".key_skew") {
		c.errorf(path+".key_skew", false, "write keys: zipf", "key_skew applies to zipf keys only")
	}
	if p.Keys != "uniform" && p.Keys != "zipf" && c.pos.present(path+".key_space") {
		c.errorf(path+".key_space", false, "write keys: uniform or keys: zipf", "key_space applies to uniform and zipf keys only")
	}
	if p.Idempotence != nil && *p.Idempotence && (p.Acks == "0" || p.Acks == "1") {
		c.errorf(path+".idempotence", false, "idempotence needs acks: all (KIP-679)", "idempotence with acks %s", p.Acks)
	}
	if cfg, err := p.config(dest); err == nil {
		c.busErr(path, cfg.Validate())
	}
}

// enum checks that s is empty or one of e's names.
func (c *checker) enum(path, s string, e enum) {
	if s == "" {
		return
	}
	if _, ok := e.parse(s); !ok {
		hint := didYouMean(s, e.names())
		if hint == "" {
			hint = "one of: " + strings.Join(e.names(), ", ")
		}
		c.errorf(path, false, hint, "unknown value %q", s)
	}
}

// ref checks that name is one of names, which are of kind what (plural
// whats).
func (c *checker) ref(path, name string, names []string, what, whats string) {
	switch {
	case name == "":
		c.missing(path, "the name of a "+what)
	case !containsName(names, name):
		hint := didYouMean(name, names)
		if hint == "" && len(names) > 0 {
			hint = whats + ": " + sortedList(names)
		}
		c.errorf(path, false, hint, "no %s named %q", what, name)
	}
}

func containsName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// busErr reports a models/bus configuration error under path: at the field
// the message names when the file has it, else at the entity.
func (c *checker) busErr(path string, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if errors.Is(err, bus.ErrConfig) {
		msg = strings.TrimPrefix(msg, bus.ErrConfig.Error()+": ")
		if _, rest, ok := strings.Cut(msg, "\": "); ok {
			msg = rest // drop the entity kind and name: the path says them
		}
	}
	field, _, _ := strings.Cut(msg, " ")
	at := path
	if c.pos.present(path + "." + field) {
		at = path + "." + field
	}
	c.errorf(at, false, "", "%s", msg)
}

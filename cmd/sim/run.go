package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshsim/meshsim/internal/version"
	"github.com/meshsim/meshsim/report"
	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

const usage = `sim runs deterministic discrete-event simulations of service meshes and
event-driven systems, and writes reports that compare policies.

Usage:
  sim run FILE|NAME [flags]     run a scenario and write its report
  sim validate FILE|NAME...     check scenarios without running them
  sim explain FILE|NAME         print the resolved configuration: presets and defaults applied
  sim merge PART... [-out DIR]  merge the parts of a sharded run and write its report
  sim list                      list the shipped scenarios
  sim schema [-o FILE]          print the JSON Schema of scenario files, for editors
  sim version                   print the version
  sim help [COMMAND]            show help

A NAME from 'sim list' works in place of a FILE. Flags may come before or
after the file, as -flag or --flag.

Examples:
  sim run quickstart -out out/quickstart     then open out/quickstart/report.html
  sim run my.yaml -seed 7 -replications 20   a different seed, more replications
  sim validate scenarios/*.yaml              report every error with file:line:col

Sharding a run over machines (a Kubernetes Indexed Job, a Slurm array, GNU
parallel): each machine runs one shard and writes a part file; 'sim merge'
assembles the parts into the report a single run would have written, byte
for byte:
  sim run my.yaml -shard 3/16 -out parts        writes parts/part-3-of-16.msim
  sim merge parts/part-*.msim -out out/my       after all 16 shards are done

The same scenario, seed and version always give the same bytes in every
output, whatever -workers is.
`

const runUsage = `Usage: sim run FILE|NAME [flags]

Simulates every variant of the scenario (at every point of its sweep:, if
it has one) for every replication and writes summary.json, report.md,
report.html, latency-cdf.{svg,png}, percentiles.{svg,png} and
instance-load.{svg,png} (up to six variants; the latter when a service has
more than one instance), with a sweep sweep-<workload>.{svg,png}, for each
workload timeline-<workload>.{svg,png}, for each bus reader
lag-<reader>.{svg,png}, and the tables as CSV (workloads, services,
sidecars, timeline, events) to -out.

With precision: in the scenario, replications run in rounds until the
chosen statistic is known to the asked half-width (or max_replications);
-replications turns that off. With report: {slo: ...}, each variant is
judged met, violated or uncertain, in a column of the summary printed here.

Flags:
`

// run dispatches a command line. It returns a *usageError for a wrong
// command line.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "list":
		return cmdList(rest, stdout)
	case "explain":
		return cmdExplain(rest, stdout, stderr)
	case "schema":
		return cmdSchema(rest, stdout, stderr)
	case "merge":
		return cmdMerge(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "meshsim %s commit=%s\n", version.Version, version.Commit())
		return nil
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] == "run" {
			return cmdRun([]string{"-h"}, stdout, stdout)
		}
		if len(rest) > 0 && rest[0] == "schema" {
			return cmdSchema([]string{"-h"}, stdout, stdout)
		}
		if len(rest) > 0 && rest[0] == "merge" {
			return cmdMerge([]string{"-h"}, stdout, stdout)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usagef("unknown command %q%s", cmd, suggestCommand(cmd))
	}
}

func suggestCommand(cmd string) string {
	for _, c := range []string{"run", "validate", "explain", "list", "schema", "version", "help"} {
		if strings.HasPrefix(c, cmd) || strings.HasPrefix(cmd, c) {
			return fmt.Sprintf("; did you mean %q?", c)
		}
	}
	return ""
}

// parseInterleaved parses flags that may appear before, between or after
// positional arguments, which the flag package alone does not allow.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write outputs to `DIR` (default out/<scenario name>)")
	seed := fs.Uint64("seed", 0, "override the scenario's root `SEED`")
	reps := fs.Int("replications", 0, fmt.Sprintf("override the scenario's replication count `N` (1 to %d)", scenarios.MaxReplications))
	workers := fs.Int("workers", 0, "replications simulated at once, `N` (default: one per CPU); results do not depend on it")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	shard := fs.String("shard", "", "run only shard `I/N` of the replications (0 <= I < N) and write part-I-of-N.msim to -out, for 'sim merge'")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usagef("run: %v", err)
	}
	if len(pos) != 1 {
		return usagef("run takes one scenario file or name, got %d", len(pos))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["replications"] && (*reps < 1 || *reps > scenarios.MaxReplications) {
		return usagef("run: -replications must be between 1 and %d, got %d", scenarios.MaxReplications, *reps)
	}
	doc, err := scenarios.Load(pos[0])
	if err != nil {
		return err
	}
	if !*quiet {
		for _, w := range doc.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	opts := scenarios.Options{Workers: *workers, Replications: *reps}
	if *shard != "" {
		i, n, err := parseShard(*shard)
		if err != nil {
			return usagef("run: -shard %v", err)
		}
		opts.Shard, opts.Shards = i, n
	}
	effSeed := doc.Scenario.Seed
	if set["seed"] {
		opts.Seed = seed
		effSeed = *seed
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", doc.Scenario.Name)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "scenario=%s seed=%d version=%s commit=%s\n", doc.Scenario.Name, effSeed, version.Version, version.Commit())
	}
	bar := newProgressBar(stderr, *quiet)
	opts.Progress = bar.update
	if opts.Shards > 0 {
		part, err := scenarios.RunPart(context.Background(), doc, opts)
		bar.done()
		if err != nil {
			return err
		}
		return writePart(stdout, dir, part, *quiet)
	}
	exp, err := scenarios.Run(context.Background(), doc, opts)
	bar.done()
	if err != nil {
		return err
	}
	files, err := report.Render(exp)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	if !*quiet {
		printSummary(stdout, stderr, exp)
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, "report.html"))
	}
	return nil
}

// printSummary prints the brief on stdout, then how precision-based
// stopping went (on stderr when it hit max_replications) and, on stderr,
// the report's warning when the warm-up looks too short.
func printSummary(stdout, stderr io.Writer, exp *results.Experiment) {
	s := results.Summarize(exp)
	printBrief(stdout, s)
	if line := report.PrecisionLine(exp.Precision); line != "" {
		w := stdout
		if !exp.Precision.Reached {
			w = stderr // a limit was hit: say so where warnings go
		}
		fmt.Fprintln(w, line)
	}
	if line, warn := report.WarmupLine(s); warn {
		fmt.Fprintln(stderr, line)
	}
}

// printBrief prints one line per variant and workload: enough to see the
// answer without opening the report.
func printBrief(w io.Writer, s *results.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	slo := ""
	if s.SLO != nil {
		slo = "slo\t"
	}
	fmt.Fprintln(tw, "variant\tworkload\trequests\tok\tthroughput/s\tp50\tp99\t"+slo)
	for _, v := range s.Variants {
		for _, wl := range v.Workloads {
			tp, p50, p99 := "-", "-", "-"
			if wl.ThroughputPerS != nil {
				tp = fmt.Sprintf("%.4g", wl.ThroughputPerS.Mean)
			}
			if l := wl.LatencyS; l != nil {
				p50, p99 = fmtLatency(l.P50), fmtLatency(l.P99)
			}
			verdict := ""
			if s.SLO != nil {
				verdict = report.SLOVerdict(s.SLO, v.Name, wl.Name)
				if verdict == "" {
					verdict = "-"
				}
				verdict += "\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", v.Name, wl.Name, wl.Requests, wl.Outcomes.OK, tp, p50, p99, verdict)
		}
	}
	tw.Flush()
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: sim validate FILE|NAME...\n\nChecks each scenario and its variants; prints every error as file:line:col: field: message.\n")
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usagef("validate: %v", err)
	}
	if len(pos) == 0 {
		return usagef("validate needs at least one scenario file or name")
	}
	bad := 0
	for _, p := range pos {
		doc, err := scenarios.Load(p)
		if err == nil {
			_, err = doc.Expand()
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			bad++
			continue
		}
		for _, w := range doc.Warnings {
			fmt.Fprintln(stderr, w)
		}
		fmt.Fprintf(stdout, "%s: ok\n", p)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d scenarios invalid", bad, len(pos))
	}
	return nil
}

func cmdExplain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: sim explain FILE|NAME\n\nPrints every variant's services and the policy their callers' proxies run, after\npresets and defaults: exactly what 'sim run' simulates.\n")
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usagef("explain: %v", err)
	}
	if len(pos) != 1 {
		return usagef("explain takes one scenario file or name, got %d", len(pos))
	}
	doc, err := scenarios.Load(pos[0])
	if err != nil {
		return err
	}
	text, err := doc.Explain()
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	return err
}

const schemaUsage = `Usage: sim schema [-o FILE]

Prints the JSON Schema (draft 2020-12) of scenario files, for editors that
complete and check YAML as you type. See the README for how to use it with
yaml-language-server and VS Code.

Flags:
`

func cmdSchema(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the schema to `FILE` instead of stdout")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), schemaUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usagef("schema: %v", err)
	}
	if len(pos) > 0 {
		return usagef("schema takes no arguments, got %q", pos[0])
	}
	data, err := scenarios.Schema()
	if err != nil {
		return err
	}
	if *out != "" {
		return os.WriteFile(*out, data, 0o644)
	}
	_, err = stdout.Write(data)
	return err
}

func cmdList(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usagef("list takes no arguments")
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range scenarios.Library() {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Title)
	}
	return tw.Flush()
}

// progressBar draws progress on stderr, only on a terminal and only once a
// run has taken longer than a second. It is the one place that reads the
// wall clock.
type progressBar struct {
	w       io.Writer
	enabled bool
	start   time.Time
	last    time.Time
	drawn   bool
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	return &progressBar{w: w, enabled: !quiet && isTerminal(w), start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) update(frac float64) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.drawn = true
	const width = 30
	n := int(frac * width)
	elapsed := now.Sub(p.start)
	eta := "?"
	if frac > 0.01 {
		eta = (time.Duration(float64(elapsed)/frac) - elapsed).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  elapsed %s  eta %s ", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, elapsed.Round(time.Second), eta)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// fmtLatency formats seconds with three significant digits in the unit
// that keeps the number readable: 850µs, 12.3ms, 45.3s, 1234s.
func fmtLatency(s float64) string {
	switch {
	case s >= 1000:
		return fmt.Sprintf("%.0fs", s)
	case s >= 1:
		return fmt.Sprintf("%.3gs", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3gms", s*1e3)
	default:
		return fmt.Sprintf("%.3gµs", s*1e6)
	}
}

// parseShard reads "I/N" with 0 <= I < N.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("wants I/N with 0 <= I < N, e.g. 3/16, got %q", s)
	}
	return i, n, nil
}

// partName is the file a shard writes.
func partName(i, n int) string { return fmt.Sprintf("part-%d-of-%d.msim", i, n) }

func writePart(stdout io.Writer, dir string, part *results.Part, quiet bool) error {
	data, err := part.Encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, partName(part.Shard, part.Count))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(stdout, "wrote %s (shard %d of %d; merge all %d with 'sim merge')\n", path, part.Shard, part.Count, part.Count)
	}
	return nil
}

const mergeUsage = `Usage: sim merge PART... [flags]

Assembles the part files of a sharded run ('sim run FILE -shard I/N') into
the report the whole run would have written: the same bytes, whatever the
number of shards, their order, or the machines that ran them. Every shard
of the run must be given once; parts of another scenario, seed, version or
sharding are refused.

Flags:
`

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the report to `DIR` (default out/<scenario name>)")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), mergeUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usagef("merge: %v", err)
	}
	if len(pos) == 0 {
		return usagef("merge takes the part files of a sharded run")
	}
	var parts []*results.Part
	for _, path := range pos {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		p, err := results.DecodePart(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		parts = append(parts, p)
	}
	exp, err := results.Merge(parts)
	if err != nil {
		return err
	}
	files, err := report.Render(exp)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", exp.Scenario)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	if !*quiet {
		printSummary(stdout, stderr, exp)
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, "report.html"))
	}
	return nil
}

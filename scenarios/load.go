package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Document is a parsed, defaulted and validated scenario file, with the YAML
// tree its variants are applied to.
type Document struct {
	// Scenario is the scenario as written, with defaults applied.
	Scenario *Scenario
	// Warnings are problems that do not stop a run, such as a service
	// offered more load than it can serve with an unbounded queue, each
	// formatted FILE:LINE:COL: PATH: warning: MSG; HINT: the scenario's
	// first, then each variant's that the scenario does not have.
	Warnings []string

	root *yaml.Node // the document node, never modified
	pos  positions  // where the fields of root are
}

// Parse decodes data, the text of the scenario file named file, applies
// defaults and validates it, variants included. file is used in messages
// and for the default name.
//
// A problem in the file comes back as an ErrorList of up to 20 *Error, each
// with the file, line, column and field path, in order of position; it
// wraps ErrInvalid. Parse never panics, whatever data holds.
func Parse(file string, data []byte) (*Document, error) {
	sk := newSink(file)
	doc, e := parseYAML(file, data)
	if e != nil {
		return nil, ErrorList{e}
	}
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = resolve(doc.Content[0])
	}
	if root == nil || root.Kind != yaml.MappingNode {
		if isNull(root) {
			line, col := 1, 1
			if root != nil {
				line, col = max(root.Line, 1), max(root.Column, 1)
			}
			return nil, ErrorList{{File: file, Line: line, Col: col, Msg: "empty scenario", Hint: "a scenario needs at least version, duration, workloads and services"}}
		}
		return nil, ErrorList{{File: file, Line: root.Line, Col: root.Column, Msg: "expected a mapping of scenario fields, got " + describe(root)}}
	}
	doc.Content[0] = root

	dec := newDecoder(sk, "")
	s := dec.decodeScenario(root)
	s.File, s.Source = file, bytes.Clone(data)
	applyDefaults(s, dec.pos.present)
	c := &checker{sink: sk, pos: dec.pos, bad: dec.bad}
	c.check(s)
	if !sk.empty() {
		return nil, sk.err()
	}
	d := &Document{Scenario: s, Warnings: formatWarnings(c.warnings, "", nil), root: doc, pos: dec.pos}
	if len(s.Variants) > 0 || len(s.Sweep) > 0 {
		_, warnings, err := d.expand(c.warnings)
		if err != nil {
			return nil, err
		}
		d.Warnings = append(d.Warnings, warnings...)
	}
	return d, nil
}

// Load reads the scenario file at pathOrName or, if there is no such file,
// the library scenario of that name ("quickstart" or "quickstart.yaml"),
// and parses it. A name that is neither gives an error that matches
// fs.ErrNotExist and suggests the closest library name.
func Load(pathOrName string) (*Document, error) {
	fi, err := os.Stat(pathOrName)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("scenario: %s is a directory, not a scenario file", pathOrName)
	case err == nil:
		data, err := readFile(pathOrName)
		if err != nil {
			return nil, err
		}
		return Parse(pathOrName, data)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("scenario: %w", err)
	}
	name := libraryName(pathOrName)
	if data, ok := LibraryFile(name); ok {
		return Parse(name, data)
	}
	return nil, &notFoundError{name: pathOrName, hint: didYouMean(name, libraryNames())}
}

// readFile reads at most one byte more than Parse accepts, so that a huge
// file is refused without being read whole.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return data, nil
}

// notFoundError is Load's error for a name that is neither a file nor a
// library scenario.
type notFoundError struct {
	name string
	hint string
}

func (e *notFoundError) Error() string {
	msg := fmt.Sprintf("scenario: no file or library scenario named %q (see sim list)", e.name)
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

// Is makes the error match fs.ErrNotExist.
func (e *notFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// libraryName strips the .yaml extension from a library scenario name.
func libraryName(name string) string {
	return strings.TrimSuffix(name, ".yaml")
}

package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid is wrapped by every error that reports a problem in a scenario
// file, so that callers can tell bad input from I/O failures with
// errors.Is(err, ErrInvalid).
var ErrInvalid = errors.New("scenario: invalid")

// maxErrors is how many errors Parse reports for one file. Past it, the last
// entry says how many more there were: a long list helps nobody, and
// TIGER_STYLE wants a limit on everything.
const maxErrors = 20

// Error is one problem in a scenario file. It formats as
//
//	FILE:LINE:COL: PATH: MSG; HINT
//
// where PATH is the field path (services[0].service_time.dist, or duration
// at the top level) and is left out, with its colon, for problems of the file
// as a whole; "; HINT" is left out when there is no hint.
type Error struct {
	File string
	Line int // 1-based
	Col  int // 1-based
	Path string
	Msg  string
	Hint string
}

// Error formats e as FILE:LINE:COL: PATH: MSG; HINT.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// ErrorList is every problem found in one file, in order of position (line,
// then column; problems at the same position in the order they were found),
// at most 20 of them.
type ErrorList []*Error

// Error returns the errors one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors of the list, or ErrInvalid if it is empty, so
// that errors.As finds the first *Error and errors.Is finds ErrInvalid.
func (l ErrorList) Unwrap() []error {
	if len(l) == 0 {
		return []error{ErrInvalid}
	}
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sinkLimit bounds how many errors a sink keeps before sorting and cutting
// the list to maxErrors, so that a pathological file cannot make it grow
// without bound.
const sinkLimit = 1000

// sink collects the errors of one file.
type sink struct {
	file    string
	errs    []*Error
	hints   map[*Error]func() string // hints computed only for errors shown
	dropped int                      // errors past sinkLimit
}

func newSink(file string) *sink { return &sink{file: file} }

// add records an error at line:col.
func (s *sink) add(line, col int, path, hint, msg string) {
	if len(s.errs) >= sinkLimit {
		s.dropped++
		return
	}
	s.errs = append(s.errs, &Error{File: s.file, Line: max(line, 1), Col: max(col, 1), Path: path, Msg: msg, Hint: hint})
}

// addLazy records an error whose hint is computed by hint only if the error
// is among those shown. Suggestions cost O(candidates), so computing them
// for every one of thousands of errors in a pathological file would make
// reporting quadratic.
func (s *sink) addLazy(line, col int, path string, hint func() string, msg string) {
	s.add(line, col, path, "", msg)
	if s.dropped == 0 {
		if s.hints == nil {
			s.hints = map[*Error]func() string{}
		}
		s.hints[s.errs[len(s.errs)-1]] = hint
	}
}

func (s *sink) empty() bool { return len(s.errs) == 0 }

// err returns the collected errors as an ErrorList sorted by position, or
// nil if there are none.
func (s *sink) err() error {
	if len(s.errs) == 0 {
		return nil
	}
	l := slices.Clone(s.errs)
	slices.SortStableFunc(l, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	if more := len(l) - maxErrors + 1 + s.dropped; more > 1 {
		last := l[maxErrors-1]
		l = append(l[:maxErrors-1], &Error{File: s.file, Line: last.Line, Col: last.Col, Msg: fmt.Sprintf("too many errors (%d more not shown)", more)})
	}
	for _, e := range l {
		if h := s.hints[e]; h != nil {
			e.Hint = h()
			delete(s.hints, e)
		}
	}
	return ErrorList(l)
}

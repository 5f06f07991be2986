// Command sim runs meshsim scenarios and writes their reports.
//
//	sim run quickstart -out out/quickstart
//	sim validate my-scenario.yaml
//	sim list
//
// Run `sim help` for every command and flag. main only wires the process to
// run; everything else takes its inputs and writers as arguments, so it is
// tested without a process.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(exitCode(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errHelp is returned after help was printed on request: exit status 0.
var errHelp = errors.New("help requested")

// exitCode prints err as one clear block and maps it to the exit status:
// 0 ok, 1 the run failed, 2 the command line was wrong.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sim: %s\nRun 'sim help' for usage.\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return 1
	}
}

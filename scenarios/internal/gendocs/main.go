// Command gendocs writes scenarios/schema_docs.go: the doc comments of the
// scenario types, which the JSON Schema (sim schema) and the field
// reference (docs/scenario.md) show. Run it through go generate:
//
//	go generate ./scenarios/
//
// It reads the package's source with go/parser and does not import it, so
// it runs even when the generated file is stale or broken.
package main

import (
	"flag"
	"log"

	"github.com/meshsim/meshsim/scenarios/internal/docparse"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gendocs: ")
	dir := flag.String("dir", ".", "the `DIR`ectory of package scenarios")
	flag.Parse()
	if err := docparse.Write(*dir); err != nil {
		log.Fatal(err)
	}
}

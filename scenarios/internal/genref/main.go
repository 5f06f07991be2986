// Command genref writes docs/scenario.md, the reference of every scenario
// field, from scenarios.Reference. Run it through go generate, after
// gendocs has refreshed the doc comments it uses:
//
//	go generate ./scenarios/
package main

import (
	"flag"
	"log"
	"os"

	"github.com/meshsim/meshsim/scenarios"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("genref: ")
	out := flag.String("o", "../docs/scenario.md", "write the reference to `FILE`")
	flag.Parse()
	if err := os.WriteFile(*out, scenarios.Reference(), 0o644); err != nil {
		log.Fatal(err)
	}
}

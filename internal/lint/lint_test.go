// Package lint holds tests that enforce the determinism contract on the
// engine's source: sim/ and models/ never read the wall clock, never use a
// global or unwrapped random generator, never start goroutines and never do
// I/O.
package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bannedTime are the package time functions that read or wait on the wall
// clock.
var bannedTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true,
}

// bannedImports may not appear in the engine at all.
var bannedImports = map[string]string{
	"os":                    "I/O belongs in cmd/sim",
	"io/ioutil":             "I/O belongs in cmd/sim",
	"net":                   "the engine is simulated, not networked",
	"crypto/rand":           "use sim.Rand",
	"math/rand":             "use sim.Rand",
	"sync":                  "the engine is single-threaded",
	"sync/atomic":           "the engine is single-threaded",
	"unsafe":                "identity must not leak into results",
	"hash/maphash":          "seeded per process: not deterministic",
	"golang.org/x/exp/rand": "deprecated; use sim.Rand",
}

// randFile is the one file allowed to import the generator.
const randFile = "sim/rand.go"

func TestEngineIsDeterministic(t *testing.T) {
	root := filepath.Join("..", "..")
	var files int
	for _, dir := range []string{"sim", "models"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			files++
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			for _, problem := range check(t, path, rel) {
				t.Error(problem)
			}
			return nil
		})
		require.NoError(t, err)
	}
	assert.Greater(t, files, 5, "the walk must have found the engine's files")
}

func check(t *testing.T, path, rel string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	require.NoError(t, err)
	var problems []string
	report := func(n ast.Node, msg string) {
		problems = append(problems, fset.Position(n.Pos()).String()+": "+msg)
	}
	timeName := ""
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p == "math/rand/v2" && rel != randFile {
			report(imp, "math/rand/v2 imported outside "+randFile+": use sim.Rand")
		}
		if why, bad := bannedImports[p]; bad {
			report(imp, p+" imported: "+why)
		}
		if p == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "go statement: the engine starts no goroutines")
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && bannedTime[n.Sel.Name] {
				report(n, "time."+n.Sel.Name+" reads the wall clock: use the scheduler's virtual time")
			}
		}
		return true
	})
	return problems
}

func TestCheckFindsViolations(t *testing.T) {
	// The checker itself must catch what it claims to catch.
	src := `package x
import (
	"math/rand"
	"time"
)
func f() {
	go f()
	_ = time.Now()
	_ = rand.Int()
}`
	dir := t.TempDir()
	path := filepath.Join(dir, "x.go")
	require.NoError(t, writeFile(path, src))
	problems := check(t, path, "models/x.go")
	assert.Len(t, problems, 3)
	joined := strings.Join(problems, "\n")
	assert.Contains(t, joined, "math/rand imported")
	assert.Contains(t, joined, "go statement")
	assert.Contains(t, joined, "time.Now reads the wall clock")
}

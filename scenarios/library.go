package scenarios

import (
	"embed"
	"io/fs"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// library holds the scenarios shipped with meshsim, listed by `sim list`.
//
//go:embed library/*.yaml
var library embed.FS

// LibraryEntry describes one library scenario.
type LibraryEntry struct {
	// Name is what Load accepts: the file name without .yaml.
	Name string
	// Title is the first line of the scenario's description.
	Title string
}

// Library returns the library scenarios sorted by name.
func Library() []LibraryEntry {
	var out []LibraryEntry
	for _, name := range libraryNames() {
		data, _ := LibraryFile(name)
		out = append(out, LibraryEntry{Name: name, Title: title(data)})
	}
	return out
}

// LibraryFile returns the text of the library scenario name ("quickstart"
// or "quickstart.yaml"), and whether there is one.
func LibraryFile(name string) ([]byte, bool) {
	name = libraryName(name)
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, false
	}
	data, err := library.ReadFile("library/" + name + ".yaml")
	if err != nil {
		return nil, false
	}
	return data, true
}

// libraryNames returns the library scenario names, sorted.
func libraryNames() []string {
	entries, _ := fs.ReadDir(library, "library")
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".yaml") {
			names = append(names, strings.TrimSuffix(n, ".yaml"))
		}
	}
	slices.Sort(names)
	return names
}

// title returns the first line of the description field of a scenario, or
// "" if it has none. It reads only that field, so a library file with other
// problems is still listed (and reported when it is loaded).
func title(data []byte) string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return ""
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k, v := root.Content[i], resolve(root.Content[i+1]); k.Value == "description" && v.Kind == yaml.ScalarNode {
			line, _, _ := strings.Cut(strings.TrimSpace(v.Value), "\n")
			return strings.TrimSpace(line)
		}
	}
	return ""
}

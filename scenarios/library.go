package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// shipped holds the scenario library: every *.yaml file beside this package.
//
//go:embed *.yaml
var shipped embed.FS

// ErrUnknownScenario is returned (wrapped) by Open for a name that is not in the
// library.
var ErrUnknownScenario = errors.New("scenarios: unknown scenario")

// Entry describes one shipped scenario.
type Entry struct {
	// Name is what Open accepts: the file name without .yaml.
	Name string
	// Description is the file's description field.
	Description string
}

// Library lists the shipped scenarios, sorted by name. It reads only names and
// descriptions; the tests check that every shipped file loads with Open.
func Library() []Entry {
	files, err := fs.Glob(shipped, "*.yaml")
	if err != nil {
		panic(fmt.Sprintf("scenarios: globbing the embedded library: %v", err))
	}
	out := make([]Entry, 0, len(files))
	for _, f := range files {
		data, err := shipped.ReadFile(f)
		if err != nil {
			panic(fmt.Sprintf("scenarios: reading embedded %s: %v", f, err))
		}
		var head struct {
			Description string `yaml:"description"`
		}
		_ = yaml.Unmarshal(data, &head) // a broken file still gets listed; Open reports its errors
		out = append(out, Entry{Name: strings.TrimSuffix(f, ".yaml"), Description: head.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Open loads a shipped scenario by name ("scale-in"), or a file by path. An
// argument containing a '/' or ending in .yaml or .yml is a path; anything else
// is a library name.
func Open(nameOrPath string) (*Scenario, error) {
	file, data, err := Source(nameOrPath)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Source returns what Open parses: the file name errors are reported under
// and the file's bytes, from the library for a name, from disk for a path.
// Parse(Source(x)) is Open(x); a sharded run records the bytes so that
// spillway merge rebuilds the same scenario.
func Source(nameOrPath string) (file string, data []byte, err error) {
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".yaml") ||
		strings.HasSuffix(nameOrPath, ".yml") {
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return "", nil, fmt.Errorf("scenarios: %w", err)
		}
		return nameOrPath, data, nil
	}
	file = nameOrPath + ".yaml"
	data, err = shipped.ReadFile(path.Clean(file))
	if err != nil {
		var names []string
		for _, e := range Library() {
			names = append(names, e.Name)
		}
		return "", nil, fmt.Errorf("%w %q%s (shipped: %s; a file path needs a '/' or a .yaml suffix)",
			ErrUnknownScenario, nameOrPath, didYouMean(nameOrPath, names), strings.Join(names, ", "))
	}
	return file, data, nil
}

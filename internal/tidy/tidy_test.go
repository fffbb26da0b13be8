package tidy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository root, relative to this package.
const root = "../.."

// wallClock are the package time functions that read or wait on the wall clock.
var wallClock = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}

// goFiles returns the repository's Go files (slash paths relative to root),
// skipping testdata and hidden directories.
func goFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "out") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Go files found under the repository root")
	}
	return out
}

func parse(t *testing.T, fset *token.FileSet, rel string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTidyNoWallClock: no wall clock or math/rand (v1) under core/ and sim/
// outside lines marked // wallclock-ok.
func TestTidyNoWallClock(t *testing.T) {
	fset := token.NewFileSet()
	for _, rel := range goFiles(t) {
		if !(strings.HasPrefix(rel, "core/") || strings.HasPrefix(rel, "sim/")) || strings.HasSuffix(rel, "_test.go") {
			continue
		}
		f := parse(t, fset, rel)
		marked := map[int]bool{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.Contains(c.Text, "wallclock-ok") {
					marked[fset.Position(c.Slash).Line] = true
				}
			}
		}
		timeName := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			line := fset.Position(imp.Pos()).Line
			switch {
			case path == "math/rand" && !marked[line]:
				t.Errorf("%s:%d imports math/rand (v1): draw from the engine's seeded math/rand/v2 generators", rel, line)
			case path == "time":
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		if timeName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && wallClock[sel.Sel.Name] {
				if line := fset.Position(sel.Pos()).Line; !marked[line] {
					t.Errorf("%s:%d calls time.%s: read the engine's clock (or mark a production-only line // wallclock-ok)",
						rel, line, sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// knownPackageComments are package comments outside doc.go that this
// repository cannot fix yet: core/ is being rewritten by its owner. Remove an
// entry when the file is fixed (the test fails on a stale entry).
var knownPackageComments = map[string]bool{}

// TestTidyPackageComments: only doc.go carries a package's comment, so go doc
// opens with it alone.
func TestTidyPackageComments(t *testing.T) {
	fset := token.NewFileSet()
	for _, rel := range goFiles(t) {
		if strings.HasSuffix(rel, "_test.go") || filepath.Base(rel) == "doc.go" {
			continue
		}
		f := parse(t, fset, rel)
		if f.Doc != nil && !knownPackageComments[rel] {
			t.Errorf("%s:%d: a comment is attached to the package clause (only doc.go may carry the package "+
				"comment): put a blank line between it and `package %s`", rel, fset.Position(f.Doc.Pos()).Line, f.Name.Name)
		}
		if f.Doc == nil && knownPackageComments[rel] {
			t.Errorf("%s is fixed: remove it from knownPackageComments", rel)
		}
	}
	// Every package with Go code has its doc.go.
	dirs := map[string]bool{}
	for _, rel := range goFiles(t) {
		if !strings.HasSuffix(rel, "_test.go") {
			dirs[filepath.Dir(rel)] = true
		}
	}
	for dir := range dirs {
		if _, err := os.Stat(filepath.Join(root, dir, "doc.go")); err != nil {
			t.Errorf("package %s has no doc.go", dir)
		}
	}
}

// tablePath matches a backticked path in a Markdown table cell: something with
// a slash or a file extension, e.g. `sim/redisnode` or `docs/design.md`.
var tablePath = regexp.MustCompile("`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?|[A-Za-z0-9_-]+\\.(?:go|md|yaml|json))`")

// TestTidyReadmePaths: every path named in the README's tables exists.
func TestTidyReadmePaths(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "|") {
			continue
		}
		for _, m := range tablePath.FindAllStringSubmatch(line, -1) {
			path := m[1]
			if strings.Contains(path, "*") {
				continue
			}
			checked++
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(path))); err != nil {
				t.Errorf("README.md:%d names %s, which does not exist", i+1, path)
			}
		}
	}
	// The first column of the layout table names packages without a slash (`core`, `sim`).
	for i, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if strings.ContainsAny(name, " *") || !isPackageRow(line) {
			continue
		}
		checked++
		if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil || !st.IsDir() {
			t.Errorf("README.md:%d: the layout table names package %s, which has no directory", i+1, name)
		}
	}
	if checked == 0 {
		t.Fatal("found no path in the README's tables: has the layout table moved?")
	}
}

// isPackageRow reports whether a table row is of the layout table (a row of
// packages); the scenario table's first column names scenarios, not directories.
func isPackageRow(line string) bool {
	for _, pkg := range []string{"`core`", "`sim`", "`sim/", "`scenarios`", "`reports`", "`cmd/", "`bench`", "`promstore`"} {
		if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "|")), pkg) {
			return true
		}
	}
	return false
}

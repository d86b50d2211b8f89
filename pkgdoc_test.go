package wapt_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs fails when a Go package of the module has no package comment:
// "// Package name ..." for libraries, "// Command name ..." for mains.
func TestPackageDocs(t *testing.T) {
	dirs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no Go packages found")
	}
	for dir := range dirs {
		if msg := checkPackageDoc(dir); msg != "" {
			t.Error(msg)
		}
	}
}

// checkPackageDoc returns "" when the package in dir has a proper doc comment.
func checkPackageDoc(dir string) string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return dir + ": " + err.Error()
	}
	for name, pkg := range pkgs {
		want := "Package " + name + " "
		if name == "main" {
			want = "Command "
		}
		found := false
		for _, f := range pkg.Files {
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), want) {
				found = true
				break
			}
		}
		if !found {
			return dir + ": package " + name + " has no doc comment starting with \"" + want + "...\""
		}
	}
	return ""
}

func TestCheckPackageDocDetectsMissing(t *testing.T) {
	tests := []struct {
		name, src string
		ok        bool
	}{
		{"documented", "// Package foo does things.\npackage foo\n", true},
		{"undocumented", "package foo\n", false},
		{"wrong name", "// Package bar does things.\npackage foo\n", false},
		{"plain comment", "// foo does things.\npackage foo\n", false},
		{"main", "// Command foo does things.\npackage main\n", true},
		{"main undocumented", "package main\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			msg := checkPackageDoc(dir)
			if (msg == "") != tt.ok {
				t.Errorf("checkPackageDoc(%q) = %q, want ok=%v", tt.src, msg, tt.ok)
			}
		})
	}
}

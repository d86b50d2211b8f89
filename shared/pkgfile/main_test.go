package pkgfile

import (
	"flag"
	"os"
	"testing"
)

// TestMain shortens the default minimization of new fuzzing inputs from
// 60 s to 2 s (unless -fuzzminimizetime is given): FuzzOpen's seed is a
// real signed package of a few KB, and minimizing each new input for a
// minute would take most of a 30 s fuzzing run.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given {
		_ = flag.Set("test.fuzzminimizetime", "2s")
	}
	os.Exit(m.Run())
}

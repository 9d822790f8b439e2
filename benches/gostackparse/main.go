// Command gostackparse-bench parses a goroutine dump with DataDog's
// gostackparse as many times as asked and prints the parse-only throughput
// (bytes per CPU second) as one JSON object, for benches/gostackparse.sh to set beside gopanic's.
//
// The package is not vendored: the script copies gostackparse.go from a
// checkout given as GOSTACKPARSE_SRC into a throwaway module next to this
// file, so the import path below is that module's.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"bench/gostackparse"
)

// cpuSeconds is the user+system CPU time of the whole process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gostackparse-bench <dump.txt> <iterations>")
		os.Exit(2)
	}
	dump, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "iterations must be a positive integer")
		os.Exit(2)
	}
	var goroutines int
	// CPU time, not wall time: the figure must not depend on what else the
	// machine runs. It includes the garbage collector's threads, which are
	// part of the parser's cost.
	start := cpuSeconds()
	for i := 0; i < n; i++ {
		gs, _ := gostackparse.Parse(bytes.NewReader(dump))
		goroutines = len(gs)
	}
	perIteration := (cpuSeconds() - start) / float64(n)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"tool":   "gostackparse",
		"mode":   "parse",
		"bytes":  len(dump),
		"result": goroutines,
		"cpu_s":  perIteration,
		"mib_s":  float64(len(dump)) / perIteration / (1 << 20),
	})
}

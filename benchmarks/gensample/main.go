// Command gensample writes the sample archive used by the mailsource tests.
//
// It is run by go generate in package mailsource (from the mailsource
// folder):
//
//	go run ../benchmarks/gensample -seed 1 -n 3000 -o testdata/sample.mbox
//
// With -large it instead streams a big mbox for benchmarks and load tests
// (from the module root):
//
//	go run ./benchmarks/gensample -large 2GiB -max 26MiB -o /tmp/big.mbox
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

func main() {
	out := flag.String("o", "sample.mbox", "output file")
	seed := flag.Int64("seed", 1, "generator seed")
	n := flag.Int("n", 3000, "number of messages in the sample")
	large := flag.String("large", "", "write a large mbox of this size (e.g. 500MiB, 2GiB) instead of the sample")
	maxSize := flag.String("max", "26MiB", "with -large: the largest message")
	info := flag.Bool("info", false, "print the sample's SampleInfo as JSON")
	flag.Parse()

	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if *large != "" {
		total, err1 := parseSize(*large)
		max, err2 := parseSize(*maxSize)
		if err1 != nil || err2 != nil {
			fail(fmt.Errorf("bad size: %v %v", err1, err2))
		}
		count, err := mailgen.WriteLargeMbox(w, total, max)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %d messages\n", count)
	} else {
		si, err := mailgen.WriteSample(w, *seed, *n)
		if err != nil {
			fail(err)
		}
		if *info {
			b, _ := json.MarshalIndent(si, "", "  ")
			fmt.Println(string(b))
		}
	}
	if err := w.Flush(); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v * mult, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gensample:", err)
	os.Exit(1)
}

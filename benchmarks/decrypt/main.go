// Command decrypt compares audit.DecryptFile with GnuPG on the same
// files, in the same run. It generates a 3072-bit RSA key with
// audit.GenerateKey, imports it into a temporary GNUPGHOME, writes an mbox
// of -size bytes, has the gpg binary encrypt it with AES-256 five ways:
// uncompressed (-z 0) and compressed with ZLIB at gpg's default level, each
// binary and --armor, and compressed with ZIP (raw deflate), binary.
// (AES-256 and ZLIB are what gpg uses by default for a
// key gpg made; for a key go-crypto made, whose preferences list AES-128
// and no compression, it has to be told.) It then decrypts each file to
// disk with `gpg -o` and with audit.DecryptFile, each in a child process,
// -runs times (taking turns at going first), checks that every output is
// byte-identical to the mbox and prints, per variant, the median wall
// time, throughput (plaintext MB/s), the child's CPU time (getrusage), its
// peak resident memory (VmHWM, sampled every 2 ms) and the speed ratio
// library/gpg (of the median wall times).
//
// It needs gpg on PATH (apt-get install -y gnupg) and about 5 × -size of
// free space under $TMPDIR.
//
//	go build -o /tmp/decryptbench ./benchmarks/decrypt && /tmp/decryptbench -size 512MiB
//
// -cpuprofile writes a pprof CPU profile of one library decryption of the
// first variant (e.g. -variants plain -cpuprofile /tmp/cpu.out).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gwsadmin/workspace/audit"
)

type variant struct {
	name string
	args []string // gpg encryption options
}

var variants = []variant{
	{"plain", []string{"-z", "0"}},
	{"plain-armor", []string{"-z", "0", "--armor"}},
	{"compressed", []string{"--compress-algo", "zlib"}},
	{"compressed-armor", []string{"--compress-algo", "zlib", "--armor"}},
	{"compressed-zip", []string{"--compress-algo", "zip"}},
}

func main() {
	size := flag.String("size", "512MiB", "plaintext mbox size (e.g. 64MiB, 512MiB, 1GiB)")
	runs := flag.Int("runs", 3, "decryptions per tool and variant (the median is reported)")
	only := flag.String("variants", "", "comma-separated subset of plain, plain-armor, compressed, compressed-armor, compressed-zip")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the library decrypting the first variant here")
	child := flag.String("child", "", "internal: decrypt this file with the key in -key to -out")
	keyFile := flag.String("key", "", "internal: private key file")
	out := flag.String("out", "", "internal: output path")
	flag.Parse()
	if *child != "" {
		os.Exit(decrypt(*child, *keyFile, *out, *cpuprofile))
	}
	n, err := parseSize(*size)
	if err != nil {
		fail(err)
	}
	if *only != "" {
		variants = slices.DeleteFunc(variants, func(v variant) bool { return !slices.Contains(strings.Split(*only, ","), v.name) })
	}
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		fail(errors.New("gpg is not on PATH (apt-get install -y gnupg)"))
	}
	dir, err := os.MkdirTemp("", "decryptbench")
	if err != nil {
		fail(err)
	}
	home := filepath.Join(dir, "gnupg")
	os.Mkdir(home, 0o700)
	defer func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(dir)
	}()
	g := func(args ...string) {
		cmd := exec.Command(gpg, append([]string{"--homedir", home, "--batch", "--yes", "--no-tty", "--quiet", "--pinentry-mode", "loopback"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("gpg %v: %v\n%s", args, err, stderr.String()))
		}
	}

	fmt.Printf("machine: %d CPUs (%s), %s, %s %s/%s, %s\n", runtime.NumCPU(), cpuModel(), memTotal(), runtime.Version(), runtime.GOOS, runtime.GOARCH, gpgVersion(gpg))
	fmt.Printf("load average at start: %s\n", loadavg())

	kp, err := audit.GenerateKey("example.com", nil) // 3072-bit RSA, the default
	if err != nil {
		fail(err)
	}
	key := filepath.Join(dir, "key.asc")
	if err := kp.WritePrivateKey(key); err != nil {
		fail(err)
	}
	g("--import", key)
	fpr := fmt.Sprintf("%X", kp.Entity.PrimaryKey.Fingerprint)

	mbox := filepath.Join(dir, "export.mbox")
	if err := writeMbox(mbox, n); err != nil {
		fail(err)
	}
	// Start gpg-agent (it holds the secret key for gpg) before timing.
	tiny := filepath.Join(dir, "tiny")
	os.WriteFile(tiny, []byte("From x\n"), 0o600)
	g("--trust-model", "always", "-r", fpr, "-o", tiny+".gpg", "-e", tiny)
	g("-o", tiny+".out", "-d", tiny+".gpg")

	type result struct{ gpg, lib []measure }
	results := make([]result, len(variants))
	encSizes := make([]int64, len(variants))
	for i, v := range variants {
		enc := filepath.Join(dir, v.name+".gpg")
		t0 := time.Now()
		g(append(append([]string{"--trust-model", "always", "--cipher-algo", "AES256", "-r", fpr}, v.args...), "-o", enc, "-e", mbox)...)
		st, _ := os.Stat(enc)
		encSizes[i] = st.Size()
		fmt.Printf("%-16s gpg %s encrypted %d bytes into %d in %v\n", v.name, strings.Join(v.args, " "), n, st.Size(), time.Since(t0).Round(time.Millisecond))
		if i == 0 && *cpuprofile != "" {
			outp := filepath.Join(dir, "profile.mbox")
			m := run(exec.Command(os.Args[0], "-child", enc, "-key", key, "-out", outp, "-cpuprofile", *cpuprofile))
			fmt.Printf("profiled run: %v; profile in %s\n", m.wall.Round(time.Millisecond), *cpuprofile)
			os.Remove(outp)
		}
		for r := 0; r < *runs; r++ {
			gout, lout := filepath.Join(dir, "gpg.mbox"), filepath.Join(dir, "lib.mbox")
			gcmd := exec.Command(gpg, "--homedir", home, "--batch", "--yes", "--no-tty", "--quiet", "-o", gout, "-d", enc)
			lcmd := exec.Command(os.Args[0], "-child", enc, "-key", key, "-out", lout)
			var gm, lm measure
			if r%2 == 0 { // alternate which goes first
				gm, lm = run(gcmd), run(lcmd)
			} else {
				lm, gm = run(lcmd), run(gcmd)
			}
			for _, p := range []string{gout, lout} {
				if err := sameFile(mbox, p); err != nil {
					fail(fmt.Errorf("%s, run %d: %s: %w", v.name, r+1, filepath.Base(p), err))
				}
				os.Remove(p)
			}
			results[i].gpg = append(results[i].gpg, gm)
			results[i].lib = append(results[i].lib, lm)
		}
		os.Remove(enc)
	}
	fmt.Printf("load average at end: %s\n", loadavg())
	fmt.Printf("\nplaintext %d bytes; outputs byte-identical to the mbox (gpg's and the library's); median of %d runs\n\n", n, *runs)
	fmt.Println("| variant | encrypted size | tool | time | MB/s | CPU (user+sys) | peak RSS | library/gpg speed |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for i, v := range variants {
		gm, lm := median(results[i].gpg), median(results[i].lib)
		fmt.Printf("| %s | %d B | gpg -o | %s | %.0f | %s | %.1f MiB | |\n", v.name, encSizes[i], secs(gm.wall), mbps(n, gm.wall), secs(gm.cpu), gm.rssMiB)
		fmt.Printf("| %s | %d B | audit.DecryptFile | %s | %.0f | %s | %.1f MiB | %.2f× |\n", v.name, encSizes[i], secs(lm.wall), mbps(n, lm.wall), secs(lm.cpu), lm.rssMiB, gm.wall.Seconds()/lm.wall.Seconds())
	}
	fmt.Println()
	for i, v := range variants {
		fmt.Printf("%s, all runs (wall/CPU): gpg %s; library %s\n", v.name, walls(results[i].gpg), walls(results[i].lib))
	}
}

// measure is one child process: wall time and peak resident memory.
type measure struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssMiB float64
}

// run runs cmd and samples its peak resident memory (VmHWM in
// /proc/<pid>/status) every 2 ms until it exits. (getrusage's ru_maxrss
// would not do: Go starts children with vfork, and Linux counts the
// parent's own peak into the child's ru_maxrss at exec.)
func run(cmd *exec.Cmd) measure {
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stdout, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	exited := make(chan struct{})
	peak := make(chan int)
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		hwm := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := vmHWM(status); kb > hwm {
				hwm = kb
			}
			select {
			case <-exited:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(t0)
	close(exited)
	kb := <-peak
	if err != nil {
		fail(fmt.Errorf("%v: %v\n%s", cmd.Args, err, stderr.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measure{wall: wall, cpu: cpu, rssMiB: float64(kb) / 1024}
}

// vmHWM reads the peak resident set size in KiB from a status file.
func vmHWM(status string) int {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

func median(ms []measure) measure {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measure) int { return int(a.wall - b.wall) })
	m := s[len(s)/2]
	m.rssMiB = slices.MaxFunc(s, func(a, b measure) int {
		if a.rssMiB < b.rssMiB {
			return -1
		}
		if a.rssMiB > b.rssMiB {
			return 1
		}
		return 0
	}).rssMiB // the highest peak of all runs
	return m
}

func walls(ms []measure) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%.2f/%.2f s", m.wall.Seconds(), m.cpu.Seconds()))
	}
	return strings.Join(parts, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }

// decrypt is the child: audit.DecryptFile from src to out.
func decrypt(src, keyFile, out, cpuprofile string) int {
	keys, err := audit.ReadPrivateKeyFile(keyFile)
	if err != nil {
		fail(err)
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// NoSync: gpg -o does not flush its output to the disk either; the
	// library's default fsync is a durability choice, not decryption.
	if _, err := audit.DecryptFile(context.Background(), out, src, keys, &audit.DecryptOptions{NoSync: true}); err != nil {
		fail(err)
	}
	return 0
}

// writeMbox writes an mbox of n bytes: messages of ordinary text lines.
func writeMbox(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var msg bytes.Buffer
	for i := 0; msg.Len() < 256<<10; i++ {
		if i%40 == 0 {
			fmt.Fprintf(&msg, "From MAILER-DAEMON Mon Jan  5 10:%02d:00 2026\nFrom: a%d@example.com\nSubject: report %d\n\n", i%60, i%97, i)
		}
		fmt.Fprintf(&msg, "Line %d of a message body, with ordinary text to make it look like mail: %x.\n", i, uint32(i)*2654435761)
	}
	block := msg.Bytes()
	for left := n; left > 0; {
		k := min(int64(len(block)), left)
		if _, err := bw.Write(block[:k]); err != nil {
			return err
		}
		left -= k
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// sameFile reports whether the files a and b hold the same bytes.
func sameFile(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return fmt.Errorf("differs from the mbox within bytes %d–%d", off, off+int64(max(na, nb)))
		}
		off += int64(na)
		if ea != nil || eb != nil {
			if (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF) {
				return nil
			}
			return errors.Join(ea, eb)
		}
	}
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "unknown RAM"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func gpgVersion(gpg string) string {
	out, _ := exec.Command(gpg, "--version").Output()
	lines := strings.SplitN(string(out), "\n", 3)
	if len(lines) < 2 {
		return "gpg (unknown version)"
	}
	return lines[0] + ", " + lines[1]
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10} {
		if v, ok := strings.CutSuffix(s, suf); ok {
			s, mult = v, m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "decryptbench:", err)
	os.Exit(1)
}

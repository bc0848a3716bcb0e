// Command decrypt measures audit.Decrypt on a large export: it
// generates an RSA key and an OpenPGP-encrypted mbox of -size bytes
// (streamed to a temporary file, never held in memory), then decrypts it
// in a child process that reports its throughput and peak resident memory
// (VmHWM from /proc/self/status) and Go heap.
//
//	go run ./benchmarks/decrypt -size 1GiB
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/gwsadmin/workspace/audit"
)

func main() {
	size := flag.String("size", "1GiB", "plaintext size (e.g. 256MiB, 1GiB)")
	child := flag.String("child", "", "internal: decrypt this file with the key in -key")
	keyFile := flag.String("key", "", "internal: private key file")
	out := flag.String("out", "discard", "internal: where plaintext goes: discard or a file path")
	flag.Parse()
	if *child != "" {
		os.Exit(decrypt(*child, *keyFile, *out))
	}
	n, err := parseSize(*size)
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "decryptbench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	kp, err := audit.GenerateKey("example.com", nil) // 3072-bit RSA, the default
	if err != nil {
		fail(err)
	}
	key := dir + "/key.asc"
	if err := kp.WritePrivateKey(key); err != nil {
		fail(err)
	}
	enc := dir + "/export.mbox.gpg"
	t0 := time.Now()
	if err := encrypt(enc, kp.Entity, n); err != nil {
		fail(err)
	}
	st, _ := os.Stat(enc)
	fmt.Printf("encrypted %d bytes of mbox into %d bytes in %v\n", n, st.Size(), time.Since(t0).Round(time.Millisecond))
	for _, dst := range []string{"discard", dir + "/export.mbox"} {
		cmd := exec.Command(os.Args[0], "-child", enc, "-key", key, "-out", dst)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(err)
		}
		os.Remove(dir + "/export.mbox")
	}
}

// encrypt writes an encrypted mbox of n plaintext bytes, as Google's
// files are (binary OpenPGP, uncompressed literal data).
func encrypt(path string, to *openpgp.Entity, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := openpgp.Encrypt(bw, openpgp.EntityList{to}, nil, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		return err
	}
	var msg bytes.Buffer
	for i := 0; msg.Len() < 64<<10; i++ {
		if i%40 == 0 {
			fmt.Fprintf(&msg, "From MAILER-DAEMON Mon Jan  5 10:%02d:00 2026\nFrom: a@example.com\nSubject: report %d\n\n", i%60, i)
		}
		fmt.Fprintf(&msg, "Line %d of a message body, with ordinary text to make it look like mail.\n", i)
	}
	block := msg.Bytes()
	for left := n; left > 0; {
		k := min(int64(len(block)), left)
		if _, err := w.Write(block[:k]); err != nil {
			return err
		}
		left -= k
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func decrypt(src, keyFile, out string) int {
	keys, err := audit.ReadPrivateKeyFile(keyFile)
	if err != nil {
		fail(err)
	}
	var res *audit.DecryptResult
	t0 := time.Now()
	if out == "discard" {
		f, err := os.Open(src)
		if err != nil {
			fail(err)
		}
		res, err = audit.Decrypt(context.Background(), io.Discard, f, keys, nil)
		if err != nil {
			fail(err)
		}
		f.Close()
	} else {
		res, err = audit.DecryptFile(context.Background(), out, src, keys, nil)
		if err != nil {
			fail(err)
		}
	}
	el := time.Since(t0)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("decrypt to %-8s %d bytes, %d messages in %v: %.1f MB/s (%.1f MiB/s); peak RSS %s; Go heap sys %.1f MiB, total allocated %.1f MiB, GC cycles %d\n",
		label(out), res.Bytes, res.Messages, el.Round(time.Millisecond),
		float64(res.Bytes)/el.Seconds()/1e6, float64(res.Bytes)/el.Seconds()/(1<<20),
		vmHWM(), float64(ms.HeapSys)/(1<<20), float64(ms.TotalAlloc)/(1<<20), ms.NumGC)
	return 0
}

func label(out string) string {
	if out == "discard" {
		return "discard:"
	}
	return "file:"
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
		}
	}
	return "n/a"
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

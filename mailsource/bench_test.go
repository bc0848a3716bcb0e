package mailsource_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
)

var benchMboxes sync.Map // maxMsgSize -> []byte

// benchData returns a ~50 MB generated mboxrd (LF line ends), built once
// per maxMsgSize: 0 gives ordinary messages only (~20,000 of 1–10 KB), a
// larger value mixes in one message in a hundred of up to that size.
func benchData(b *testing.B, maxMsgSize int64) []byte {
	if v, ok := benchMboxes.Load(maxMsgSize); ok {
		return v.([]byte)
	}
	var buf bytes.Buffer
	if _, err := mailgen.WriteLargeMbox(&buf, 50<<20, maxMsgSize); err != nil {
		b.Fatal(err)
	}
	benchMboxes.Store(maxMsgSize, buf.Bytes())
	return buf.Bytes()
}

// BenchmarkMboxRead measures mbox parsing throughput on typical messages
// (b.SetBytes: MB/s of mbox input) and allocations.
func BenchmarkMboxRead(b *testing.B) {
	benchRead(b, benchData(b, 0))
}

// BenchmarkMboxReadLarge is BenchmarkMboxRead with 1% of messages of 2–4
// MiB (base64 attachments), which dominate the bytes.
func BenchmarkMboxReadLarge(b *testing.B) {
	benchRead(b, benchData(b, 4<<20))
}

func benchRead(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := mailsource.NewMbox(bytes.NewReader(data), "bench", nil)
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n), "msgs/op")
	}
}

// BenchmarkMboxReadValidate adds what a migration does per message:
// NormalizeCRLF, Validate, MessageID and ContentHash.
func BenchmarkMboxReadValidate(b *testing.B) {
	data := benchData(b, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := mailsource.NewMbox(bytes.NewReader(data), "bench", nil)
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			d := mailsource.NormalizeCRLF(m.Data)
			if err := mailsource.Validate(d, 0); err != nil {
				b.Fatal(err)
			}
			mailsource.MessageID(d)
			mailsource.ContentHash(d)
		}
	}
}

func BenchmarkNormalizeCRLF(b *testing.B) {
	msg := mailgen.ToLF(mailgen.LargeMessage(1 << 20))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		mailsource.NormalizeCRLF(msg)
	}
}

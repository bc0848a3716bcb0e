package gmail

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestUploadReaderAt: a chunk starts at the right byte whether the
// message's reader can seek or not, and a chunk's reader, once detached,
// reads nothing more while its source goes on from where it stopped.
func TestUploadReaderAt(t *testing.T) {
	msg := []byte(strings.Repeat("0123456789", 1000))
	for _, seek := range []bool{true, false} {
		open := func() io.Reader { return bytes.NewReader(msg) }
		if !seek {
			open = func() io.Reader { return iotest.HalfReader(bytes.NewReader(msg)) }
		}
		u := &upload{src: source{size: int64(len(msg)), open: open}}
		for _, off := range []int64{0, 1, 4096, 9999, 10000} {
			r, err := u.readerAt(off)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, msg[off:]) {
				t.Errorf("seek %v, off %d: read %d bytes, want %d", seek, off, len(got), len(msg)-int(off))
			}
		}
		r, _ := u.readerAt(100)
		c := &chunkReader{r: r, left: 50}
		got, _ := io.ReadAll(c)
		n, ok := c.detach()
		if !bytes.Equal(got, msg[100:150]) || n != 50 || !ok {
			t.Errorf("chunk read %q (%d, %v)", got, n, ok)
		}
		if k, err := c.Read(make([]byte, 10)); k != 0 || err == nil {
			t.Errorf("read after detach: %d, %v", k, err)
		}
		rest, _ := io.ReadAll(r)
		if !bytes.Equal(rest, msg[150:]) {
			t.Errorf("the source went on at the wrong byte")
		}
	}
}

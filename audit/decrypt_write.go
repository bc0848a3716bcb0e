package audit

import (
	"io"
	"sync"
)

// asyncWriter writes to w from its own goroutine, in chunks of size, up
// to n of them queued, so that decryption goes on while the system takes
// the previous chunk. Close must be called; it returns the first write
// error, which Write also returns once seen.
type asyncWriter struct {
	w    io.Writer
	size int
	cur  []byte
	have bool
	full chan []byte
	free chan []byte
	done chan struct{}

	mu  sync.Mutex
	err error
}

func newAsyncWriter(w io.Writer, size, n int) *asyncWriter {
	a := &asyncWriter{w: w, size: size, full: make(chan []byte, n), free: make(chan []byte, n), done: make(chan struct{})}
	for range n {
		a.free <- nil // allocated on first use
	}
	go a.loop()
	return a
}

func (a *asyncWriter) loop() {
	defer close(a.done)
	for b := range a.full {
		if a.error() == nil {
			if _, err := a.w.Write(b); err != nil {
				a.mu.Lock()
				a.err = err
				a.mu.Unlock()
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) error() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		buf, err := a.next()
		if err != nil {
			return n, err
		}
		k := copy(buf, p)
		a.commit(k)
		p, n = p[k:], n+k
	}
	return n, nil
}

// next returns the free space of the current buffer, for commit, or the
// first write error.
func (a *asyncWriter) next() ([]byte, error) {
	if err := a.error(); err != nil {
		return nil, err
	}
	if !a.have {
		a.cur, a.have = <-a.free, true
		if a.cur == nil {
			a.cur = make([]byte, 0, a.size)
		}
	}
	return a.cur[len(a.cur):cap(a.cur)], nil
}

// commit adds the n bytes written into next's slice.
func (a *asyncWriter) commit(n int) {
	a.cur = a.cur[:len(a.cur)+n]
	if len(a.cur) == cap(a.cur) {
		a.full <- a.cur
		a.cur, a.have = nil, false
	}
}

// Close writes what is buffered, waits for the goroutine and returns the
// first write error.
func (a *asyncWriter) Close() error {
	if a.have && len(a.cur) > 0 {
		a.full <- a.cur
	}
	a.cur, a.have = nil, false
	close(a.full)
	<-a.done
	return a.error()
}

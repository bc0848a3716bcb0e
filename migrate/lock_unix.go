//go:build unix

package migrate

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f, failing at once with
// ErrJournalLocked when another process holds it. The kernel drops the
// lock when the process dies, so a crashed run never blocks the next.
func lockFile(f *os.File) (func() error, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return nil, ErrJournalLocked
		}
		return nil, err
	}
}

//go:build !unix

package migrate

import (
	"errors"
	"fmt"
	"os"
)

// lockFile takes the journal's lock by creating "<journal>.lock"
// exclusively. Unlike the Unix lock it outlives a crashed process: delete
// the file by hand after making sure no migration is running.
func lockFile(f *os.File) (func() error, error) {
	name := f.Name() + ".lock"
	l, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w (lock file %s; delete it if no migration is running)", ErrJournalLocked, name)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(l, "%d\n", os.Getpid())
	l.Close()
	return func() error { return os.Remove(name) }, nil
}

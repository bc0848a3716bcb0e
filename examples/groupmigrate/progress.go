package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/migrate"
)

// progress shows a bar on a terminal and plain lines otherwise, and with
// -v a line for each retry, refusal and failure. It counts messages, not
// bytes: one oversized message would otherwise skew the estimate of the
// time left.
type progress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	verbose bool
	names   paths

	mu     sync.Mutex
	counts [migrate.Pending + 1]int64
	causes map[string]int // retries by cause
	start  time.Time
	last   time.Time
	total  int64
}

func newProgress(w io.Writer, jobs []migrate.Job, verbose bool, names paths) *progress {
	p := &progress{w: w, verbose: verbose, names: names, causes: map[string]int{}, start: time.Now(), last: time.Now()}
	for _, j := range jobs {
		p.total += countMessages(j.Source)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(p.total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("migrating"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	return p
}

// countMessages scans a source without buffering its messages (about
// 1 GB/s) so that progress can be shown against a known total. A source
// that cannot be read counts as 0: the migration reports it.
func countMessages(path string) int64 {
	var n int64
	r, err := mailsource.Open(path, &mailsource.Options{Skip: func(*mailsource.Message) bool { n++; return true }})
	if err != nil {
		return 0
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err == io.EOF {
			return n
		} else if err != nil {
			var fe *mailsource.FileError
			if !errors.As(err, &fe) {
				return n
			}
		}
	}
}

// event is the migration's Progress callback; it is called from several
// goroutines at once.
func (p *progress) event(ev migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(ev.Status) < len(p.counts) {
		p.counts[ev.Status]++
	}
	if ev.Status == migrate.Retrying {
		p.causes[retryCause(ev.Err)]++
	}
	if p.verbose {
		if line := p.describe(ev); line != "" {
			if p.bar != nil {
				_ = p.bar.Clear()
			}
			fmt.Fprintln(p.w, line)
		}
	}
	if ev.Status == migrate.Retrying {
		return
	}
	stored := p.counts[migrate.Inserted]
	rate := float64(stored) / time.Since(p.start).Seconds()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%d stored (%.1f/s), %d retries", stored, rate, p.counts[migrate.Retrying]))
		_ = p.bar.Add(1)
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		var done int64
		for st, n := range p.counts {
			if migrate.Status(st) != migrate.Retrying {
				done += n
			}
		}
		fmt.Fprintf(p.w, "progress: %d/%d messages: %d stored, %d duplicates, %d done before, %d refused, %d failed; %d retries; %.1f inserts/s\n",
			done, p.total, stored, p.counts[migrate.Duplicate], p.counts[migrate.Resumed],
			p.counts[migrate.RefusedLocally]+p.counts[migrate.RefusedByGoogle], p.counts[migrate.Failed],
			p.counts[migrate.Retrying], rate)
	}
}

// describe returns the -v line for ev, or "" for an outcome not shown.
func (p *progress) describe(ev migrate.Event) string {
	where := p.names.where(ev.Source, ev.Key, ev.Index, ev.Offset)
	switch ev.Status {
	case migrate.Retrying:
		return fmt.Sprintf("retry: %s: %s: attempt %d: %v; next attempt in %s",
			ev.Target, where, ev.Attempt, ev.Err, ev.Wait.Round(time.Millisecond))
	case migrate.RefusedLocally:
		var ie *workspace.InputError
		if errors.As(ev.Err, &ie) && ie.Err == nil {
			return fmt.Sprintf("refused locally: %s: %s: %s: %s", ev.Target, where, ie.Field, ie.Reason)
		}
		return fmt.Sprintf("refused locally: %s: %s: %v", ev.Target, where, ev.Err)
	case migrate.RefusedByGoogle:
		return fmt.Sprintf("refused by Google: %s: %s: %v", ev.Target, where, ev.Err)
	case migrate.Failed:
		return fmt.Sprintf("failed: %s: %s: %v", ev.Target, where, ev.Err)
	}
	return ""
}

// retryCause names why an attempt is retried: the HTTP status of the
// answer, or a connection that failed without one.
func retryCause(err error) string {
	var we *workspace.Error
	if errors.As(err, &we) && we.StatusCode != 0 {
		if len(we.Reasons) > 0 {
			return fmt.Sprintf("%d %s", we.StatusCode, we.Reasons[0])
		}
		return strconv.Itoa(we.StatusCode)
	}
	return "no answer (connection failed)"
}

// retryCauses returns the retries counted so far, by cause.
func (p *progress) retryCauses() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.causes)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// paths shortens the paths shown to the user: relative to base (the
// demo's folder, or the working directory) when they are under it.
type paths struct{ base string }

func (n paths) short(p string) string {
	if n.base == "" {
		return p
	}
	rel, err := filepath.Rel(n.base, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// where says which message of which source an item or event is about:
// "archive.mbox message #12 (byte 3456)" for an mbox, the file for a
// folder of .eml files or a Maildir.
func (n paths) where(source, key string, index int, offset int64) string {
	src := n.short(source)
	switch {
	case key == source || key == "":
		return src
	case key == source+"#"+strconv.Itoa(index):
		if index < 0 {
			return src + ", before its first envelope line"
		}
		s := fmt.Sprintf("%s message #%d", src, index)
		if offset > 0 {
			s += fmt.Sprintf(" (byte %d)", offset)
		}
		return s
	}
	return n.short(key)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

package settings

import (
	"context"
	"time"
)

// WithMXHooks returns a copy of o (nil: defaults) whose waits between
// checks go through sleep and whose reports are stamped by now, for the
// package-level CheckMX and WaitMX, which have no workspace.Client (the
// Client's methods wait through the client's retry Sleep). A nil hook
// keeps the default.
func WithMXHooks(o *MXOptions, sleep func(context.Context, time.Duration) error, now func() time.Time) *MXOptions {
	var c MXOptions
	if o != nil {
		c = *o
	}
	c.sleep, c.now = sleep, now
	return &c
}

package settings

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Settings is one view of the domain's settings, each part read from the
// API that serves it today.
type Settings struct {
	Domain      string
	SSO         *SSOSettings  // Admin Settings sso/general
	SigningKey  *SigningKey   // Admin Settings sso/signingkey
	Gateway     *Gateway      // Admin Settings email/gateway
	Profiles    []*Profile    // Cloud Identity inbound SAML SSO profiles
	Assignments []*Assignment // Cloud Identity inbound SSO assignments
	Customer    *Customer     // Directory API customer
	Domains     []*Domain     // Directory API domains
	MX          *MXReport     // DNS, when GetOptions.MX was set
	// Errors holds, by part name ("sso", "signingKey", "gateway",
	// "profiles", "assignments", "customer", "domains", "mx"), the parts
	// that could not be read; their fields above are nil.
	Errors map[string]error
}

// GetOptions choose what Get reads. Nil means everything but MX.
type GetOptions struct {
	// SkipLegacy skips the Admin Settings feeds (SSO, signing key,
	// gateway).
	SkipLegacy bool
	// SkipCloudIdentity skips the profiles and assignments.
	SkipCloudIdentity bool
	// SkipDirectory skips the customer and domains.
	SkipDirectory bool
	// MX, when set, also runs CheckMX with these options.
	MX *MXOptions
}

// Get reads the domain's settings from every API, the parts in parallel. A
// part that fails does not stop the others: Settings.Errors names it (an
// error matching workspace.ErrNotFound means the API does not serve that
// part for this domain), and the returned error joins every part's error
// (nil when all were read).
func (c *Client) Get(ctx context.Context, opts *GetOptions) (*Settings, error) {
	var o GetOptions
	if opts != nil {
		o = *opts
	}
	st := &Settings{Domain: c.domain, Errors: map[string]error{}}
	// The parts are independent: they are read at once, so that a slow or
	// throttled API costs the time of its own reads, not of all of them
	// in a row. Each part writes only its own field.
	var mu sync.Mutex
	var wg sync.WaitGroup
	part := func(name string, f func() error) {
		wg.Go(func() {
			err := ctx.Err()
			if err == nil {
				err = f()
			}
			if err != nil {
				mu.Lock()
				st.Errors[name] = err
				mu.Unlock()
			}
		})
	}
	if !o.SkipLegacy {
		part("sso", func() (err error) { st.SSO, err = c.SSO.Get(ctx); return })
		part("signingKey", func() (err error) { st.SigningKey, err = c.SSO.SigningKey(ctx); return })
		part("gateway", func() (err error) { st.Gateway, err = c.Gateway.Get(ctx); return })
	}
	if !o.SkipDirectory {
		part("customer", func() (err error) { st.Customer, err = c.Customer.Get(ctx); return })
		part("domains", func() (err error) { st.Domains, err = c.Domains.List(ctx); return })
	}
	if !o.SkipCloudIdentity {
		part("profiles", func() error {
			for p, err := range c.Profiles.All(ctx, nil) {
				if err != nil {
					return err
				}
				st.Profiles = append(st.Profiles, p)
			}
			return nil
		})
		part("assignments", func() error {
			for a, err := range c.Assignments.All(ctx, nil) {
				if err != nil {
					return err
				}
				st.Assignments = append(st.Assignments, a)
			}
			return nil
		})
	}
	if o.MX != nil {
		part("mx", func() (err error) { st.MX, err = c.CheckMX(ctx, o.MX); return })
	}
	wg.Wait()
	var errs []error
	for _, name := range []string{"sso", "signingKey", "gateway", "customer", "domains", "profiles", "assignments", "mx"} {
		if err := st.Errors[name]; err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return st, errors.Join(errs...)
}

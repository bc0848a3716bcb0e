package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
)

// The parts of the settings, each read on its own.
const (
	partSSO         = "sso"
	partSigningKey  = "signingKey"
	partGateway     = "gateway"
	partCustomer    = "customer"
	partDomains     = "domains"
	partProfiles    = "profiles"
	partAssignments = "assignments"
)

// allParts in the order they are shown.
var allParts = []string{partSSO, partSigningKey, partGateway, partCustomer, partDomains, partProfiles, partAssignments}

// partAPI names the API that serves each part, for the summary.
var partAPI = map[string]string{
	partSSO: "Admin Settings", partSigningKey: "Admin Settings", partGateway: "Admin Settings",
	partCustomer: "Directory", partDomains: "Directory",
	partProfiles: "Cloud Identity", partAssignments: "Cloud Identity",
}

// snapshot is what a read found: the settings of the parts read, and the
// error of each part that was not.
type snapshot struct {
	st   settings.Settings
	errs map[string]error
}

// readParts reads the parts through settings.Client.Get, which reads
// them at once, each independent of the others: a wrong endpoint or a
// throttled API costs the time of one read, not of all of them in a row.
// Get reads whole APIs; parts is always a union of them here.
func readParts(ctx context.Context, s *settings.Client, parts []string) *snapshot {
	want := map[string]bool{}
	for _, p := range parts {
		want[partAPI[p]] = true
	}
	st, _ := s.Get(ctx, &settings.GetOptions{ // the error joins st.Errors
		SkipLegacy:        !want["Admin Settings"],
		SkipDirectory:     !want["Directory"],
		SkipCloudIdentity: !want["Cloud Identity"],
	})
	return &snapshot{st: *st, errs: st.Errors}
}

// notAvailable reports an error that says the server has no such
// setting (it answers 404), as opposed to a read that failed.
func notAvailable(err error) bool { return errors.Is(err, workspace.ErrNotFound) }

// read reads parts, prints each, and records one step per API (named
// step and the API's name): failed
// when a part it serves could not be read (a part not available is not a
// failure).
func (r *runner) read(ctx context.Context, s *settings.Client, step string, parts []string) *snapshot {
	snap := readParts(ctx, s, parts)
	printSnapshot(r.out, snap, parts)
	var apis []string
	byAPI := map[string][]string{}
	for _, p := range parts {
		a := partAPI[p]
		if _, ok := byAPI[a]; !ok {
			apis = append(apis, a)
		}
		byAPI[a] = append(byAPI[a], p)
	}
	for _, a := range apis {
		var failed, unavailable []string
		for _, p := range byAPI[a] {
			switch err := snap.errs[p]; {
			case err == nil:
			case notAvailable(err):
				unavailable = append(unavailable, p)
			default:
				failed = append(failed, p)
			}
		}
		r.step(step+" "+a, func() (string, error) {
			if len(failed) > 0 {
				return "", fmt.Errorf("could not read %s", strings.Join(failed, ", "))
			}
			read := len(byAPI[a]) - len(unavailable)
			if len(unavailable) > 0 {
				return fmt.Sprintf("%d read, not available: %s", read, strings.Join(unavailable, ", ")), nil
			}
			return fmt.Sprintf("%d read", read), nil
		})
	}
	return snap
}

// unreadable reports whether no part could be read nor was found
// missing: nothing answered.
func (snap *snapshot) unreadable(parts []string) bool {
	for _, p := range parts {
		if err := snap.errs[p]; err == nil || notAvailable(err) {
			return false
		}
	}
	return true
}

// printSnapshot shows each part as read, not available, or failed with
// why.
func printSnapshot(w io.Writer, snap *snapshot, parts []string) {
	st := &snap.st
	label := map[string]string{
		partSSO: "SSO (legacy, domain-wide)", partSigningKey: "SSO signing key", partGateway: "Outbound gateway",
		partCustomer: "Customer", partDomains: "Domains", partProfiles: "Cloud Identity SAML profiles",
		partAssignments: "Cloud Identity SSO assignments",
	}
	for _, p := range parts {
		if err := snap.errs[p]; err != nil {
			if notAvailable(err) {
				fmt.Fprintf(w, "  %s: not available (%v)\n", label[p], err)
			} else {
				fmt.Fprintf(w, "  %s: could not be read: %v\n", label[p], err)
			}
			continue
		}
		switch p {
		case partSSO:
			fmt.Fprintf(w, "  %s: enabled=%v sign-in=%q sign-out=%q networks=%v domain-specific issuer=%v\n", label[p],
				st.SSO.Enabled, st.SSO.SignOnURI, st.SSO.LogoutURI, st.SSO.Whitelist, st.SSO.UseDomainSpecificIssuer)
		case partSigningKey:
			k := st.SigningKey
			desc := k.Key.String()
			if k.Key.Algorithm == "" && k.Properties["signingKey"] == "" {
				desc = "(none)"
			} else if k.Certificate != nil {
				desc += ", certificate for " + k.Certificate.Subject.CommonName + ", expires " + k.Certificate.NotAfter.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "  %s: %s\n", label[p], desc)
		case partGateway:
			host := st.Gateway.SmartHost
			if host == "" {
				host = "(none)"
			}
			fmt.Fprintf(w, "  %s: %s (%s)\n", label[p], host, st.Gateway.Mode)
		case partCustomer:
			c := st.Customer
			fmt.Fprintf(w, "  Customer %s: organization %q, country %s, language %s, alternate e-mail %q, created %s\n",
				c.ID, c.OrganizationName, c.CountryCode, c.Language, c.AlternateEmail, c.Created.Format(time.DateOnly))
		case partDomains:
			fmt.Fprintf(w, "  Domains: %d\n", len(st.Domains))
			for _, d := range st.Domains {
				fmt.Fprintf(w, "    Domain %s: primary=%v verified=%v", d.Name, d.Primary, d.Verified)
				for _, a := range d.Aliases {
					fmt.Fprintf(w, " alias %s", a.Name)
				}
				fmt.Fprintln(w)
			}
		case partProfiles:
			fmt.Fprintf(w, "  %s: %d\n", label[p], len(st.Profiles))
			for _, pr := range st.Profiles {
				fmt.Fprintf(w, "    %s %q sign-in %s\n", pr.Name, pr.DisplayName, pr.IdP.SignOnURI)
			}
		case partAssignments:
			fmt.Fprintf(w, "  %s: %d\n", label[p], len(st.Assignments))
		}
	}
}

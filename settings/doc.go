// Package settings reads and changes a Google Workspace domain's settings,
// each through the API that still serves it.
//
// Google's Admin Settings API (a legacy GData feed) was partly turned down
// on 2018-10-31: its general, accountInformation, appearance and
// verification feeds are gone, while the SSO, SSO signing key, outbound
// gateway and email routing feeds are still live. This package gives one
// view of the settings and sends each call where it works today:
//
//	what                                  API                          here
//	domain-wide SAML SSO, signing key     Admin Settings sso/*         [Client.SSO]
//	outbound gateway (smart host)         Admin Settings email/gateway [Client.Gateway]
//	email routes                          Admin Settings emailrouting  [Client.Routing]
//	SAML SSO profiles, IdP certificates   Cloud Identity v1            [Client.Profiles]
//	who signs in with which profile       Cloud Identity v1            [Client.Assignments]
//	language, organization, country,      Directory API customers      [Client.Customer]
//	alternate admin e-mail, creation time
//	domains, verified, aliases            Directory API domains        [Client.Domains]
//	MX records point at Google            DNS (injectable Resolver)    [Client.CheckMX], [Client.WaitMX]
//	logo rules (no API any more)          local check                  [CheckLogo]
//
// [Client.Get] reads all of it at once into a [Settings].
//
// # Turned-down feeds
//
// The feeds shut down in 2018 are not called; their facts come from:
//
//	general/defaultLanguage                 Customer.Language
//	general/organizationName                Customer.OrganizationName
//	accountInformation/countryCode          Customer.CountryCode
//	accountInformation/adminSecondaryEmail  Customer.AlternateEmail
//	accountInformation/creationTime         Customer.Created
//	accountInformation/isVerified           Domain.Verified
//	verification/mx                         Client.CheckMX (DNS)
//	appearance/customLogo                   CheckLogo, then the Admin console
//
// User counts, edition and the support and customer PINs have no
// replacement in these APIs.
//
// # Getting started
//
//	c, err := workspace.NewClient(ctx,
//		workspace.WithCredentialsFile("sa.json"),
//		workspace.WithSubject("admin@example.com"))
//	s := settings.New(c, "example.com")
//	sso, err := s.SSO.Get(ctx)
//	on, signOn := true, "https://idp.example.com/sso"
//	_, err = s.SSO.Update(ctx, &settings.SSOUpdate{
//		Enabled:   &on,
//		SignOnURI: &signOn,
//		Whitelist: []string{"10.0.0.0/8", "2001:db8::/32"},
//	})
//
// Updates take a struct of pointers: nil leaves a field as it is. Legacy
// feed updates read the entry first and send it back with the same <id>,
// as the API's documentation asks.
//
// # Authentication
//
// The default subject of the workspace.Client must be a super
// administrator. Each call asks for a token holding only its method's
// scope, listed below (the constants of package auth name them:
// auth.ScopeAdminSettings, auth.ScopeInboundSSO,
// auth.ScopeDirectoryCustomer, auth.ScopeDirectoryDomain and their
// ReadOnly variants). Authorize, for the service account's client id in
// Admin console › Security › API controls › Domain-wide delegation, only
// the scopes of the services you call:
//
//	SSO, Gateway, Routing (Admin Settings feeds, read and write)
//	    https://apps-apis.google.com/a/feeds/domain/
//	Profiles, Assignments (Cloud Identity)
//	    https://www.googleapis.com/auth/cloud-identity.inboundsso
//	    (reads with ReadOnlyScopes: …/auth/cloud-identity.inboundsso.readonly)
//	Customer; Profiles.Create and Assignments.Create (they read the customer id once)
//	    https://www.googleapis.com/auth/admin.directory.customer
//	    (reads with ReadOnlyScopes: …/auth/admin.directory.customer.readonly)
//	Domains
//	    https://www.googleapis.com/auth/admin.directory.domain
//	    (reads with ReadOnlyScopes: …/auth/admin.directory.domain.readonly)
//
// Client.ReadOnlyScopes makes the read calls ask for the read-only scope
// instead, for a service account granted only those. Profiles and
// Assignments lists name the account as customers/my_customer, so they
// need no Directory scope. workspace.CheckDelegation tells which of these
// scopes the service account has.
//
// # Pagination
//
// Cloud Identity lists have a page method (List, ListCredentials) that
// takes a *workspace.ListOptions and returns a *workspace.Page, and an
// iterator (All, AllCredentials) that starts at the first page and follows
// the page tokens. Profiles and assignments pages hold at most 100 items
// (Google reads a larger page size as 100); Google documents no maximum
// for credentials. A page size that is negative or above 2³¹−1 (the int32
// the API takes) is refused before any request. The
// Directory API returns all domains in one answer (DomainsService.List has
// no paging).
//
// # Long-running operations
//
// Cloud Identity changes return an operation. Google answers one that is
// done, with the result or an error (a *workspace.OperationError), except when
// multi-party approval for sensitive actions is on: Google then defers the
// change until another administrator approves it, and the method returns
// an [*ApprovalPendingError] (errors.Is(err, [ErrApprovalPending])); the
// change happens once approved. Cloud Identity has no method to read an
// operation again (its discovery document lists none), so operations are
// not polled: one that is not done in any other state is returned as a
// [*PendingError]; read the resource later before sending the change again.
//
// # Errors
//
// Every error from an API is a *workspace.Error, reached with errors.As,
// and matches the categories of package workspace with errors.Is
// (workspace.ErrNotFound, workspace.ErrInvalidInput, ...). Bad input is
// refused before any request is sent, with a *workspace.InputError that
// matches workspace.ErrInvalidInput: a non-https URI, a whitelist entry
// that is not a CIDR network mask, a certificate whose key is EC rather
// than RSA or DSA, a malformed language tag or country code.
//
// While multi-party approval is on, Google refuses changes to the legacy
// SSO feeds with error 1811; they come back as a
// [*MultiPartyApprovalError] (errors.Is(err, [ErrMultiPartyApproval]))
// whose message says to use the Cloud Identity profiles instead. A Cloud
// Identity operation that ends in an error is a *workspace.OperationError
// (API workspace.APICloudIdentity, Operation the method, ID the
// operation's name, Code and Message Google's), which matches the
// categories by its rpc code.
//
// # Quotas and retries
//
// Google publishes no rate for these APIs; the workspace.Client's default
// quota rules start at 5 requests a second per project and adapt to the
// server's throttling. The Admin Settings feeds are legacy APIs: 503 means
// a quota was exceeded and is retried with backoff from 5 s; 403 means bad
// input and is not retried. Directory and Cloud Identity calls follow the
// modern policy (429 and 5xx retried). Every call is described to the
// quota and retry layers with its API and method name and the domain.
//
// # MX records
//
// [Client.CheckMX] looks up the domain's MX records through a [Resolver]
// (by default [NetResolver], over net.Resolver, which does not expose TTLs
// and reports [DefaultMXTTL]). [Client.WaitMX] checks again until the
// records point at Google, ctx ends or the timeout of [MXOptions]'
// embedded workspace.WaitOptions passes, never sooner than the records'
// TTL (a change cannot be seen before the old answer expires), with a
// backoff that grows by half from Interval to MaxInterval. It waits
// through the workspace.Client, so a client built with
// workspace.WithRetry and a retry.Options.Sleep (a test's) waits through
// that.
//
// API references:
//   - Admin Settings: https://developers.google.com/workspace/admin/admin-settings
//   - Cloud Identity inbound SSO: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles
//   - Directory customers: https://developers.google.com/workspace/admin/directory/reference/rest/v1/customers
//   - Directory domains: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains
package settings

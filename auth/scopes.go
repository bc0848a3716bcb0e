package auth

// OAuth 2.0 scopes of the APIs this library covers. A service account using
// domain-wide delegation must be granted each scope it requests in the
// Workspace Admin console (Security > API controls > Domain-wide delegation).
const (
	// ScopeEmailAudit allows the Email Audit API (legacy GData feed):
	// email monitors, the audit public key and mailbox exports.
	ScopeEmailAudit = "https://apps-apis.google.com/a/feeds/compliance/audit/"

	// ScopeAdminSettings allows the Admin Settings API (legacy GData feed):
	// SSO, signing keys, outbound gateway, email routing and other domain
	// settings.
	ScopeAdminSettings = "https://apps-apis.google.com/a/feeds/domain/"

	// ScopeGroupsMigration allows inserting messages into a Google Group's
	// archive with the Groups Migration API.
	ScopeGroupsMigration = "https://www.googleapis.com/auth/apps.groups.migration"

	// ScopeDataTransfer allows creating and viewing data transfers between
	// users with the Admin SDK Data Transfer API.
	ScopeDataTransfer = "https://www.googleapis.com/auth/admin.datatransfer"
	// ScopeDataTransferReadOnly allows viewing data transfers and
	// transferable applications.
	ScopeDataTransferReadOnly = "https://www.googleapis.com/auth/admin.datatransfer.readonly"

	// ScopeDirectoryUserReadOnly allows reading users with the Admin SDK
	// Directory API.
	ScopeDirectoryUserReadOnly = "https://www.googleapis.com/auth/admin.directory.user.readonly"
	// ScopeDirectoryCustomer allows reading and updating the customer
	// (the Workspace account) with the Directory API.
	ScopeDirectoryCustomer = "https://www.googleapis.com/auth/admin.directory.customer"
	// ScopeDirectoryCustomerReadOnly allows reading the customer.
	ScopeDirectoryCustomerReadOnly = "https://www.googleapis.com/auth/admin.directory.customer.readonly"
	// ScopeDirectoryDomain allows managing the account's domains and domain
	// aliases with the Directory API.
	ScopeDirectoryDomain = "https://www.googleapis.com/auth/admin.directory.domain"
	// ScopeDirectoryDomainReadOnly allows reading domains and domain
	// aliases.
	ScopeDirectoryDomainReadOnly = "https://www.googleapis.com/auth/admin.directory.domain.readonly"

	// ScopeInboundSSO allows managing inbound SAML and OIDC SSO profiles and
	// their assignments with the Cloud Identity API.
	ScopeInboundSSO = "https://www.googleapis.com/auth/cloud-identity.inboundsso"
	// ScopeInboundSSOReadOnly allows reading inbound SSO profiles and
	// assignments.
	ScopeInboundSSOReadOnly = "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly"

	// ScopeGmailFull allows full access to a mailbox, including permanent
	// deletion. Prefer a narrower Gmail scope when one is enough.
	ScopeGmailFull = "https://mail.google.com/"
	// ScopeGmailModify allows reading, composing, sending and changing
	// messages, but not permanent deletion.
	ScopeGmailModify = "https://www.googleapis.com/auth/gmail.modify"
	// ScopeGmailReadOnly allows reading messages and settings.
	ScopeGmailReadOnly = "https://www.googleapis.com/auth/gmail.readonly"
	// ScopeGmailInsert allows inserting and importing messages only.
	ScopeGmailInsert = "https://www.googleapis.com/auth/gmail.insert"
	// ScopeGmailSend allows sending messages only.
	ScopeGmailSend = "https://www.googleapis.com/auth/gmail.send"
	// ScopeGmailLabels allows creating, reading, updating and deleting
	// labels only.
	ScopeGmailLabels = "https://www.googleapis.com/auth/gmail.labels"
	// ScopeGmailMetadata allows reading message metadata (labels and
	// headers) but not bodies or attachments.
	ScopeGmailMetadata = "https://www.googleapis.com/auth/gmail.metadata"
	// ScopeGmailSettingsBasic allows managing basic mail settings (filters,
	// vacation responder, IMAP/POP, send-as aliases the user owns).
	ScopeGmailSettingsBasic = "https://www.googleapis.com/auth/gmail.settings.basic"
)

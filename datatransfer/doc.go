// Package datatransfer inserts messages into Google Group archives (the
// Groups Migration API) and moves data between users (the Admin SDK Data
// Transfer API), resolving user addresses with the Directory API.
//
// # Authentication
//
// The default subject of the workspace.Client must be an administrator.
// Each call asks for a token holding only its method's scope, so
// authorize, for the service account's client id in Admin console ›
// Security › API controls › Domain-wide delegation, only the scopes of the
// services you call:
//
//	Archive.Insert, Migrate, ArchiveSink (Groups Migration archive.insert)
//	    https://www.googleapis.com/auth/apps.groups.migration
//	Transfers, Applications (Data Transfer, reads and writes)
//	    https://www.googleapis.com/auth/admin.datatransfer
//	    (reads with ReadOnlyScopes: …/auth/admin.datatransfer.readonly)
//	Users.ID, and Transfers.Insert given e-mail addresses (Directory users.get)
//	    https://www.googleapis.com/auth/admin.directory.user.readonly
//
// Client.ReadOnlyScopes makes the Data Transfer reads (Applications,
// Transfers.Get, List, All and Wait) ask for admin.datatransfer.readonly
// instead, for a service account granted only that.
// workspace.APIScopes gives these defaults per API
// (workspace.APIGroupsMigration, APIDataTransfer, APIDirectory), and
// workspace.CheckDelegation tells which of them the service account has.
//
// # Lists and waits
//
// Applications.List and Transfers.List return a *workspace.Page; their All
// methods iterate over every page. Transfers.Wait polls a transfer until
// it is done; one that ended in failure is a *workspace.OperationError.
package datatransfer

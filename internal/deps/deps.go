//go:build tools

// Package deps pins the module's dependencies while the packages that use
// them are being written. It is never built.
package deps

import (
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/ProtonMail/go-crypto/openpgp/armor"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/mail"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/schollz/progressbar/v3"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/oauth2/google"
	_ "golang.org/x/oauth2/jwt"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/text/language"
	_ "golang.org/x/time/rate"
	_ "google.golang.org/api/admin/datatransfer/v1"
	_ "google.golang.org/api/admin/directory/v1"
	_ "google.golang.org/api/cloudidentity/v1"
	_ "google.golang.org/api/gmail/v1"
	_ "google.golang.org/api/googleapi"
	_ "google.golang.org/api/groupsmigration/v1"
	_ "google.golang.org/api/option"
)

package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

var cacheTok = &oauth2.Token{
	AccessToken:  "ya29.SECRET-ACCESS",
	TokenType:    "Bearer",
	RefreshToken: "1//SECRET-REFRESH",
	Expiry:       time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
}

func TestFileCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := &FileCache{Path: filepath.Join(dir, "sub", "token"), Key: newKey(t)}
	if _, err := c.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load before Save: err = %v, want fs.ErrNotExist", err)
	}
	if err := c.Save(cacheTok); err != nil {
		t.Fatal(err)
	}
	got, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cacheTok, got, cmp.AllowUnexported(oauth2.Token{})); diff != "" {
		t.Errorf("loaded token (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(c.Path)
	if strings.Contains(string(raw), "SECRET") {
		t.Error("token stored in clear text")
	}
	// A second save uses a new nonce, and leaves no temporary files.
	if err := c.Save(cacheTok); err != nil {
		t.Fatal(err)
	}
	raw2, _ := os.ReadFile(c.Path)
	if string(raw) == string(raw2) {
		t.Error("two saves produced the same ciphertext (nonce reused)")
	}
	entries, _ := os.ReadDir(filepath.Dir(c.Path))
	if len(entries) != 1 {
		t.Errorf("directory has %d entries, want 1", len(entries))
	}
}

func TestFileCacheRefuses(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *FileCache) *FileCache // returns the cache to Load with
		check   func(error) bool
		skipWin bool
	}{
		{
			name: "group/other readable", skipWin: true,
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				if err := os.Chmod(c.Path, 0o644); err != nil {
					t.Fatal(err)
				}
				return c
			},
			check: func(err error) bool {
				var ie *InsecureFileError
				return errors.As(err, &ie) && ie.Mode.Perm() == 0o644
			},
		},
		{
			name: "group writable", skipWin: true,
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				os.Chmod(c.Path, 0o620)
				return c
			},
			check: func(err error) bool { var ie *InsecureFileError; return errors.As(err, &ie) },
		},
		{
			name: "flipped ciphertext byte",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				flip(t, c.Path, -5)
				return c
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "flipped nonce byte",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				flip(t, c.Path, len(cacheMagic)+1)
				return c
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "flipped version byte",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				flip(t, c.Path, len(cacheMagic)-1)
				return c
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "truncated",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				os.Truncate(c.Path, 10)
				return c
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "wrong key",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				return &FileCache{Path: c.Path, Key: newKey(t)}
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "moved file",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				moved := c.Path + ".moved"
				if err := os.Rename(c.Path, moved); err != nil {
					t.Fatal(err)
				}
				return &FileCache{Path: moved, Key: c.Key}
			},
			check: func(err error) bool { return errors.Is(err, ErrCacheInvalid) },
		},
		{
			name: "short key",
			mutate: func(t *testing.T, c *FileCache) *FileCache {
				return &FileCache{Path: c.Path, Key: c.Key[:16]}
			},
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "must be 32 bytes") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipWin && runtime.GOOS == "windows" {
				t.Skip("no permission bits on Windows")
			}
			c := &FileCache{Path: filepath.Join(t.TempDir(), "token"), Key: newKey(t)}
			if err := c.Save(cacheTok); err != nil {
				t.Fatal(err)
			}
			tok, err := tt.mutate(t, c).Load()
			if tok != nil || !tt.check(err) {
				t.Fatalf("Load = %v, %v; want refusal", tok, err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks token: %v", err)
			}
		})
	}
}

// flip inverts one byte of the file at off (negative: from the end).
func flip(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFromEnv(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i * 7)
	}
	tests := []struct {
		name    string
		value   string
		want    []byte
		wantErr string
	}{
		{"hex", hex.EncodeToString(key), key, ""},
		{"base64", base64.StdEncoding.EncodeToString(key), key, ""},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(key), key, ""},
		{"with newline", base64.StdEncoding.EncodeToString(key) + "\n", key, ""},
		{"unset", "", nil, "is not set"},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]), nil, "decodes to 16 bytes"},
		{"garbage", "not a key!!", nil, "neither hex nor base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WORKSPACE_TOKEN_CACHE_KEY", tt.value)
			got, err := KeyFromEnv("WORKSPACE_TOKEN_CACHE_KEY")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if tt.value != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
					t.Errorf("error leaks the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCachedTokenSource(t *testing.T) {
	cache := &FileCache{Path: filepath.Join(t.TempDir(), "token"), Key: newKey(t)}
	var fetches atomic.Int32
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	src := tokenSourceFunc(func() (*oauth2.Token, error) {
		n := fetches.Add(1)
		tok := &oauth2.Token{AccessToken: "access-" + string(rune('0'+n)), Expiry: now.Add(time.Hour)}
		if n == 1 {
			tok.RefreshToken = "refresh-1" // later refreshes omit it
		}
		return tok, nil
	})
	newSrc := func() *cachedSource {
		s := CachedTokenSource(src, cache).(*cachedSource)
		s.now = func() time.Time { return now }
		return s
	}

	s1 := newSrc()
	tok, err := s1.Token()
	if err != nil || tok.AccessToken != "access-1" {
		t.Fatalf("first Token = %v, %v", tok, err)
	}
	// A new process starts from the cache: no fetch.
	tok, err = newSrc().Token()
	if err != nil || tok.AccessToken != "access-1" || fetches.Load() != 1 {
		t.Fatalf("second Token = %v, %v after %d fetches; want cached access-1", tok, err, fetches.Load())
	}
	// After expiry it refreshes, keeps the refresh token, and saves.
	now = now.Add(2 * time.Hour)
	s3 := newSrc()
	tok, err = s3.Token()
	if err != nil || tok.AccessToken != "access-2" || tok.RefreshToken != "refresh-1" {
		t.Fatalf("Token after expiry = %+v, %v", tok, err)
	}
	saved, err := cache.Load()
	if err != nil {
		t.Fatal(err)
	}
	if saved.AccessToken != "access-2" || saved.RefreshToken != "refresh-1" {
		t.Errorf("saved = %+v", saved)
	}

	// An insecure file is reported, not silently replaced.
	if runtime.GOOS != "windows" {
		os.Chmod(cache.Path, 0o644)
		var ie *InsecureFileError
		if _, err := newSrc().Token(); !errors.As(err, &ie) {
			t.Errorf("err = %v, want *InsecureFileError", err)
		}
	}
}

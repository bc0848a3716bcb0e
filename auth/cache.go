package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// TokenCache stores one token between runs of a program.
type TokenCache interface {
	// Load returns the stored token. When there is none, the error
	// matches fs.ErrNotExist (errors.Is).
	Load() (*oauth2.Token, error)
	// Save replaces the stored token.
	Save(*oauth2.Token) error
}

// ErrCacheInvalid is matched (errors.Is) by the error FileCache.Load returns
// for a file that is not a token cache, was changed, was moved from the path
// it was written to, or was written with another key. AES-GCM cannot tell
// these cases apart.
var ErrCacheInvalid = errors.New("auth: token cache is invalid (corrupted, tampered with, moved, or encrypted with another key)")

// InsecureFileError is returned by FileCache.Load when the cache file may be
// read or written by its group or by others. Fix it with "chmod 600 PATH",
// or delete the file. (On Windows, permission bits are not checked.)
type InsecureFileError struct {
	Path string
	Mode fs.FileMode
}

// Error implements the error interface.
func (e *InsecureFileError) Error() string {
	return fmt.Sprintf("auth: token cache %s has mode %04o; it must not be accessible by group or others (chmod 600)", e.Path, e.Mode.Perm())
}

// KeySize is the size of a FileCache key: AES-256 needs 32 bytes.
const KeySize = 32

// cacheMagic starts every cache file: a format name and a version byte.
var cacheMagic = []byte("GWSTOKEN\x01")

const maxCacheFile = 1 << 20

// FileCache is a [TokenCache] in one file, encrypted and authenticated with
// AES-256-GCM under Key (a new random nonce for every Save). The file holds
// a versioned header, the nonce and the ciphertext. The header and the
// file's absolute path are authenticated too, so a file copied or moved to
// another path does not load.
//
// Save writes a temporary file in the same directory with mode 0600 and
// renames it over Path, so readers never see a partial file. Load refuses a
// file that group or others may access ([*InsecureFileError]) and a file
// that fails authentication ([ErrCacheInvalid]).
//
// FileCache does not lock the file between processes; the last Save wins.
type FileCache struct {
	// Path is the cache file. Its directory is created (mode 0700) by Save
	// if missing.
	Path string
	// Key is the 32-byte AES-256 key, for example from [KeyFromEnv]. Keep
	// it out of the file system the cache lives on.
	Key []byte
}

// cachedToken is the encrypted payload: what is needed to use and refresh a
// user's token.
type cachedToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

func (c *FileCache) aead() (cipher.AEAD, []byte, error) {
	if len(c.Key) != KeySize {
		return nil, nil, fmt.Errorf("auth: token cache key must be %d bytes, got %d", KeySize, len(c.Key))
	}
	if c.Path == "" {
		return nil, nil, errors.New("auth: token cache has no Path")
	}
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: token cache path: %w", err)
	}
	block, err := aes.NewCipher(c.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: token cache key: %w", err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: token cache key: %w", err)
	}
	ad := make([]byte, 0, len(cacheMagic)+1+len(abs))
	ad = append(append(append(ad, cacheMagic...), 0), abs...)
	return g, ad, nil
}

// Load reads, checks and decrypts the cached token. A missing file gives an
// error matching fs.ErrNotExist.
func (c *FileCache) Load() (*oauth2.Token, error) {
	g, ad, err := c.aead()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(c.Path)
	if err != nil {
		return nil, fmt.Errorf("auth: token cache: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: token cache: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("auth: token cache %s is not a regular file", c.Path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &InsecureFileError{Path: c.Path, Mode: fi.Mode()}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCacheFile+1))
	if err != nil {
		return nil, fmt.Errorf("auth: token cache: %w", err)
	}
	invalid := fmt.Errorf("%w: %s", ErrCacheInvalid, c.Path)
	n := len(cacheMagic) + g.NonceSize()
	if len(data) > maxCacheFile || len(data) < n+g.Overhead() || !bytes.Equal(data[:len(cacheMagic)], cacheMagic) {
		return nil, invalid
	}
	plain, err := g.Open(nil, data[len(cacheMagic):n], data[n:], ad)
	if err != nil {
		return nil, invalid
	}
	var ct cachedToken
	if err := json.Unmarshal(plain, &ct); err != nil || ct.AccessToken == "" && ct.RefreshToken == "" {
		return nil, invalid
	}
	return &oauth2.Token{AccessToken: ct.AccessToken, TokenType: ct.TokenType, RefreshToken: ct.RefreshToken, Expiry: ct.Expiry}, nil
}

// Save encrypts tok and atomically replaces the cache file with it.
func (c *FileCache) Save(tok *oauth2.Token) error {
	if tok == nil {
		return errors.New("auth: token cache: nil token")
	}
	g, ad, err := c.aead()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(cachedToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry})
	if err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	out := make([]byte, len(cacheMagic)+g.NonceSize(), len(cacheMagic)+g.NonceSize()+len(plain)+g.Overhead())
	copy(out, cacheMagic)
	nonce := out[len(cacheMagic):]
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	out = g.Seal(out, nonce, plain, ad)

	dir, base := filepath.Split(c.Path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	if _, err := tmp.Write(out); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.Path); err != nil {
		return fmt.Errorf("auth: token cache: %w", err)
	}
	ok = true
	return nil
}

// KeyFromEnv reads a 32-byte cache key from the environment variable name,
// written as 64 hexadecimal digits or as base64 (standard or URL alphabet,
// padded or not). Errors never contain the variable's value.
//
// The variable is read only when a program calls KeyFromEnv; the package
// never reads the environment by itself. A key can be made with
// "openssl rand -base64 32".
func KeyFromEnv(name string) ([]byte, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return nil, fmt.Errorf("auth: environment variable %s is not set", name)
	}
	if len(v) == 2*KeySize {
		if k, err := hex.DecodeString(v); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(v); err == nil {
			if len(k) == KeySize {
				return k, nil
			}
			return nil, fmt.Errorf("auth: environment variable %s decodes to %d bytes, want %d", name, len(k), KeySize)
		}
	}
	return nil, fmt.Errorf("auth: environment variable %s is neither hex nor base64 for a %d-byte key", name, KeySize)
}

// CachedTokenSource returns a token source that starts from the token in
// cache, uses it while it is valid (until one minute before expiry), and
// otherwise gets one from src and saves it. A refresh token missing from a
// new token is carried over from the previous one.
//
// A missing cache file is not an error. Any other Load error (an insecure
// or invalid file) and any Save error are returned by Token, because a
// token that cannot be stored may be lost.
//
// src is usually an oauth2.Config's TokenSource started from the cached
// token, such as the one [InstalledAppFlow.TokenSource] returns. The result
// is safe for concurrent use.
func CachedTokenSource(src oauth2.TokenSource, cache TokenCache) oauth2.TokenSource {
	return &cachedSource{src: src, cache: cache, now: time.Now}
}

type cachedSource struct {
	src   oauth2.TokenSource
	cache TokenCache
	now   func() time.Time

	mu     sync.Mutex
	loaded bool
	tok    *oauth2.Token
}

func (s *cachedSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		t, err := s.cache.Load()
		switch {
		case err == nil:
			s.tok = t
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, err
		}
		s.loaded = true
	}
	if t := s.tok; t != nil && t.AccessToken != "" &&
		(t.Expiry.IsZero() || s.now().Add(DefaultEarlyExpiry).Before(t.Expiry)) {
		return t, nil
	}
	t, err := s.src.Token()
	if err != nil {
		return nil, err
	}
	if t.RefreshToken == "" && s.tok != nil && s.tok.RefreshToken != "" {
		c := *t
		c.RefreshToken = s.tok.RefreshToken
		t = &c
	}
	if s.tok == nil || s.tok.AccessToken != t.AccessToken || s.tok.RefreshToken != t.RefreshToken || !s.tok.Expiry.Equal(t.Expiry) {
		if err := s.cache.Save(t); err != nil {
			return nil, err
		}
	}
	s.tok = t
	return t, nil
}

package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/gdata"
)

// PublicKeyService uploads the domain's OpenPGP public key, the key
// Google encrypts mailbox exports with. A domain has one key; a new upload
// replaces it (exports already prepared stay encrypted with the old one).
type PublicKeyService struct{ a *Client }

// UploadedKey is the server's answer to an upload.
type UploadedKey struct {
	ID      string    // entry id, …/publickey/{domain}/{n}
	Updated time.Time // when the server stored it
	// Fingerprint of the primary key and KeyIDs (primary and subkeys, hex)
	// of the key that was sent, for matching against private keys later.
	Fingerprint string
	KeyIDs      []string
}

// Upload checks armored with ValidatePublicKey and uploads it: the API
// wants the base64 of the whole ASCII-armored block. A key that fails the
// check is refused before anything is sent.
//
// API: https://developers.google.com/workspace/admin/email-audit/download-mailbox
func (s *PublicKeyService) Upload(ctx context.Context, armored []byte) (*UploadedKey, error) {
	ent, err := ValidatePublicKey(armored, s.a.now())
	if err != nil {
		return nil, err
	}
	body := gdata.NewEntry(gdata.Property{Name: "publicKey", Value: base64.StdEncoding.EncodeToString(armored)}).Encode()
	e, err := s.a.entry(ctx, http.MethodPost, "publickey.create", "", s.a.feedURL("publickey", s.a.domain), body)
	if err != nil {
		return nil, err
	}
	return &UploadedKey{ID: e.ID, Updated: e.Updated, Fingerprint: fmt.Sprintf("%X", ent.PrimaryKey.Fingerprint), KeyIDs: keyIDs(ent)}, nil
}

func keyIDs(e *openpgp.Entity) []string {
	ids := []string{e.PrimaryKey.KeyIdString()}
	for _, sk := range e.Subkeys {
		ids = append(ids, sk.PublicKey.KeyIdString())
	}
	return ids
}

// ValidatePublicKey checks that armored is what the Email Audit API
// accepts: one US-ASCII, ASCII-armored OpenPGP public key block (no private
// key), RSA, with exactly one user id and a key (primary or subkey) that
// can encrypt at time now. Failures are *workspace.InputError values
// (errors.Is(err, workspace.ErrInvalidInput)).
func ValidatePublicKey(armored []byte, now time.Time) (*openpgp.Entity, error) {
	const op = "audit.ValidatePublicKey"
	bad := func(reason string) error { return &workspace.InputError{Op: op, Field: "publicKey", Reason: reason} }
	if len(bytes.TrimSpace(armored)) == 0 {
		return nil, bad("empty key")
	}
	for i, c := range armored {
		if c > 0x7e || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return nil, bad(fmt.Sprintf("byte %d is not printable US-ASCII (0x%02x); upload the ASCII-armored export (gpg --armor --export)", i, c))
		}
	}
	blk, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, bad("not an ASCII-armored OpenPGP block: " + err.Error())
	}
	if blk.Type != openpgp.PublicKeyType {
		if blk.Type == openpgp.PrivateKeyType {
			return nil, bad("this is a private key; upload the public key only")
		}
		return nil, bad(fmt.Sprintf("armored block is %q, want %q", blk.Type, openpgp.PublicKeyType))
	}
	list, err := openpgp.ReadKeyRing(blk.Body)
	if err != nil {
		return nil, bad("cannot read the key: " + err.Error())
	}
	if len(list) != 1 {
		return nil, bad(fmt.Sprintf("the block holds %d keys; the domain takes exactly one", len(list)))
	}
	ent := list[0]
	if ent.PrivateKey != nil {
		return nil, bad("the block holds private key material; upload the public key only")
	}
	if !isRSA(ent.PrimaryKey.PubKeyAlgo) {
		return nil, bad(fmt.Sprintf("the primary key is %s, not RSA", algoName(ent.PrimaryKey.PubKeyAlgo)))
	}
	if n := len(ent.Identities); n != 1 {
		return nil, bad(fmt.Sprintf("the key has %d user ids; it must have exactly one", n))
	}
	k, ok := ent.EncryptionKey(now)
	if !ok {
		return nil, bad("the key has no valid (unexpired, unrevoked) encryption key")
	}
	if !isRSA(k.PublicKey.PubKeyAlgo) {
		return nil, bad(fmt.Sprintf("the encryption key is %s, not RSA", algoName(k.PublicKey.PubKeyAlgo)))
	}
	return ent, nil
}

func isRSA(a packet.PublicKeyAlgorithm) bool {
	return a == packet.PubKeyAlgoRSA || a == packet.PubKeyAlgoRSAEncryptOnly
}

func algoName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoDSA:
		return "DSA"
	case packet.PubKeyAlgoElGamal:
		return "ElGamal"
	case packet.PubKeyAlgoECDSA:
		return "ECDSA"
	case packet.PubKeyAlgoECDH:
		return "ECDH"
	case packet.PubKeyAlgoEdDSA:
		return "EdDSA"
	case packet.PubKeyAlgoX25519:
		return "X25519"
	case packet.PubKeyAlgoEd25519:
		return "Ed25519"
	}
	return fmt.Sprintf("algorithm %d", a)
}

// KeyOptions tune GenerateKey. Nil means defaults.
type KeyOptions struct {
	// Name and Email make the key's single user id (defaults "Email Audit"
	// and "audit@<domain>" as given to GenerateKey).
	Name, Email string
	// Bits is the RSA key size (default 3072; at least 2048).
	Bits int
	// Passphrase, when not empty, encrypts the private key.
	Passphrase []byte
}

// KeyPair is a generated key pair, both halves ASCII-armored.
type KeyPair struct {
	Public  []byte // upload this with PublicKeyService.Upload
	Private []byte // keep this safe: it is the only way to read the exports
	Entity  *openpgp.Entity
}

// GenerateKey makes an RSA key pair that the Email Audit API accepts: an
// RSA signing primary key with an RSA encryption subkey and one user id.
// domain fills in the default user id. The key is created now.
func GenerateKey(domain string, opts *KeyOptions) (*KeyPair, error) {
	return generateKey(domain, opts, time.Now)
}

// generateKey is GenerateKey with the key's creation time taken from now
// (tests create keys valid at their fake clock's time).
func generateKey(domain string, opts *KeyOptions, now func() time.Time) (*KeyPair, error) {
	o := KeyOptions{Name: "Email Audit", Bits: 3072}
	if opts != nil {
		if opts.Name != "" {
			o.Name = opts.Name
		}
		o.Email = opts.Email
		if opts.Bits != 0 {
			o.Bits = opts.Bits
		}
		o.Passphrase = opts.Passphrase
	}
	if o.Email == "" {
		o.Email = "audit@" + domain
	}
	if o.Bits < 2048 {
		return nil, &workspace.InputError{Op: "audit.GenerateKey", Field: "Bits", Reason: fmt.Sprintf("%d bits is too small; use at least 2048", o.Bits)}
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: o.Bits, Time: now}
	ent, err := openpgp.NewEntity(o.Name, "", o.Email, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: generating key: %w", err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := ent.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	pub.WriteByte('\n')
	var priv bytes.Buffer
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if len(o.Passphrase) > 0 {
		if err := ent.EncryptPrivateKeys(o.Passphrase, cfg); err != nil {
			return nil, fmt.Errorf("audit: encrypting private key: %w", err)
		}
	}
	if err := ent.SerializePrivateWithoutSigning(w, cfg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	priv.WriteByte('\n')
	return &KeyPair{Public: pub.Bytes(), Private: priv.Bytes(), Entity: ent}, nil
}

// WritePrivateKey writes the private key to path with mode 0600. It never
// overwrites an existing file: losing the key of pending exports would
// make them unreadable.
func (k *KeyPair) WritePrivateKey(path string) error {
	return writeNew(path, k.Private, 0o600)
}

// WritePublicKey writes the public key to path (mode 0644), refusing to
// overwrite an existing file.
func (k *KeyPair) WritePublicKey(path string) error {
	return writeNew(path, k.Public, 0o644)
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("audit: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit: writing %s: %w", path, err)
	}
	return f.Close()
}

// ReadPrivateKey reads an OpenPGP private key ring, armored or binary (as
// written by KeyPair.WritePrivateKey or gpg --export-secret-keys). Keys
// protected by a passphrase stay encrypted until Decrypt asks for it.
func ReadPrivateKey(r io.Reader) (openpgp.EntityList, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	var list openpgp.EntityList
	if strings.Contains(string(data[:min(len(data), 1024)]), "-----BEGIN PGP") {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("audit: reading private key: %w", err)
	}
	hasPrivate := false
	for _, e := range list {
		hasPrivate = hasPrivate || e.PrivateKey != nil
	}
	if !hasPrivate {
		return nil, errors.New("audit: reading private key: the key ring holds public keys only")
	}
	return list, nil
}

// ReadPrivateKeyFile is ReadPrivateKey on a file.
func ReadPrivateKeyFile(path string) (openpgp.EntityList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return ReadPrivateKey(f)
}

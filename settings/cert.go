package settings

import (
	"bytes"
	"crypto/dsa" //lint:ignore SA1019 the Admin Settings API takes DSA signing keys
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// KeyInfo describes a signing key: its algorithm and size.
type KeyInfo struct {
	Algorithm string // "RSA" or "DSA"
	Bits      int    // modulus size (RSA) or prime size (DSA)
}

// String reads like "RSA 2048 bits".
func (k KeyInfo) String() string {
	if k.Algorithm == "" {
		return "unknown key"
	}
	return fmt.Sprintf("%s %d bits", k.Algorithm, k.Bits)
}

// ParseCertificate reads an X.509 certificate given in PEM (the first
// CERTIFICATE block) or DER, and checks that its public key is RSA or DSA,
// the two kinds Google's SAML SSO accepts. An EC or Ed25519 key is refused.
func ParseCertificate(data []byte) (*x509.Certificate, KeyInfo, error) {
	der := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		der = nil
		rest := t
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				der = b.Bytes
				break
			}
		}
		if der == nil {
			return nil, KeyInfo{}, errInvalid("no PEM CERTIFICATE block (a public or private key alone is not enough: the API wants an X.509 certificate)")
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		if k, kerr := x509.ParsePKIXPublicKey(der); kerr == nil {
			_ = k
			return nil, KeyInfo{}, errInvalid("this is a bare public key; give the X.509 certificate that holds it")
		}
		return nil, KeyInfo{}, fmt.Errorf("not an X.509 certificate in PEM or DER: %w", err)
	}
	ki, err := keyInfo(cert.PublicKey)
	if err != nil {
		return nil, KeyInfo{}, err
	}
	return cert, ki, nil
}

func keyInfo(pub any) (KeyInfo, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return KeyInfo{Algorithm: "RSA", Bits: k.N.BitLen()}, nil
	case *dsa.PublicKey:
		return KeyInfo{Algorithm: "DSA", Bits: k.P.BitLen()}, nil
	case *ecdsa.PublicKey:
		return KeyInfo{}, errInvalid("the certificate holds an EC (" + k.Curve.Params().Name + ") key; Google's SSO accepts only RSA or DSA keys")
	case ed25519.PublicKey:
		return KeyInfo{}, errInvalid("the certificate holds an Ed25519 key; Google's SSO accepts only RSA or DSA keys")
	}
	return KeyInfo{}, errInvalid(fmt.Sprintf("the certificate holds a %T key; Google's SSO accepts only RSA or DSA keys", pub))
}

// certPEM returns the certificate in PEM.
func certPEM(cert *x509.Certificate) string {
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))) + "\n"
}

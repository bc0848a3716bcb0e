package audit

import (
	"bytes"
	"crypto/aes"
	"errors"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// openedMessage is an opened encrypted message.
type openedMessage struct {
	body io.Reader   // the literal data
	with openpgp.Key // the key that decrypted the session key
	// finish, when set, is called once body returned io.EOF: it reads the
	// rest of the encrypted packet and returns the verdict of its
	// integrity check (nil: intact).
	finish func() error
	stop   func() // releases what the message holds; safe to call twice
}

// openSEIPD opens a message made of public-key encrypted session keys and
// a version 1 integrity protected data packet, as openpgp.ReadMessage
// does, with go-crypto parsing the packets and decrypting the session key,
// but decrypting AES-encrypted data with seipdReader. Other ciphers are
// left to go-crypto's own SymmetricallyEncrypted.Decrypt.
func openSEIPD(r io.Reader, keys openpgp.KeyRing, prompt openpgp.PromptFunction, cfg *packet.Config) (*openedMessage, error) {
	packets := packet.NewReader(r)
	var eks []*packet.EncryptedKey
	var se *packet.SymmetricallyEncrypted
	for se == nil {
		p, err := packets.Next()
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			eks = append(eks, p)
		case *packet.SymmetricallyEncrypted:
			if !p.IntegrityProtected || p.Version != 1 {
				return nil, pgperrors.UnsupportedError("unexpected encrypted data packet")
			}
			se = p
		default:
			return nil, pgperrors.StructuralError("unexpected packet before the encrypted data")
		}
	}
	ek, key, err := sessionKey(eks, keys, prompt, cfg)
	if err != nil {
		return nil, err
	}
	m := &openedMessage{with: key, stop: func() {}}
	var plain io.Reader
	switch ek.CipherFunc {
	case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
		if len(ek.Key) != ek.CipherFunc.KeySize() {
			return nil, pgperrors.InvalidArgumentError("session key of the wrong length")
		}
		b, err := aes.NewCipher(ek.Key)
		if err != nil {
			return nil, err
		}
		sr := newSEIPDReader(se.Contents, b, ek.Key)
		plain, m.finish, m.stop = sr, sr.finish, sr.stop
	default:
		rc, err := se.Decrypt(ek.CipherFunc, ek.Key)
		if err != nil {
			return nil, err
		}
		plain, m.finish = rc, rc.Close // go-crypto's Close reads to the end and checks the MDC
	}
	body, lb, err := literalBody(plain, cfg)
	// finish first decompresses the rest of the compressed packet (after
	// the literal data: a signature, then the end of the compressed
	// stream, with ZLIB's Adler-32), so that a damaged or short compressed
	// stream is an error even when the literal data ended well.
	finishPlain := m.finish
	m.finish = func() error {
		derr := lb.drain()
		if err := finishPlain(); err != nil || derr == nil {
			return err // a failed integrity check is reported as such
		}
		return sensitive(derr)
	}
	if err != nil {
		m.stop()
		return nil, sensitive(err)
	}
	m.body = sensitiveReader{body}
	return m, nil
}

// sensitive hides the detail of an error met while parsing decrypted
// data, as go-crypto does (errors.HandleSensitiveParsingError, against
// oracle attacks); a failed integrity check is reported as such.
func sensitive(err error) error {
	if err == nil || err == io.EOF || errors.Is(err, pgperrors.ErrMDCHashMismatch) {
		return err
	}
	return pgperrors.HandleSensitiveParsingError(err, true)
}

// sensitiveReader passes errors from the decrypted literal data through
// sensitive, as go-crypto's checkReader does.
type sensitiveReader struct{ r io.Reader }

func (s sensitiveReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	return n, sensitive(err)
}

// sessionKey decrypts the session key of one of eks with a private key in
// keys, asking prompt to unlock keys protected by a passphrase, as
// openpgp.ReadMessage does.
func sessionKey(eks []*packet.EncryptedKey, keys openpgp.KeyRing, prompt openpgp.PromptFunction, cfg *packet.Config) (*packet.EncryptedKey, openpgp.Key, error) {
	type pair struct {
		key openpgp.Key
		ek  *packet.EncryptedKey
	}
	var pairs []pair
	for _, ek := range eks {
		switch ek.Algo {
		case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoElGamal, packet.PubKeyAlgoECDH,
			packet.PubKeyAlgoX25519, packet.PubKeyAlgoX448, packet.PubKeyAlgoMlkem768X25519, packet.PubKeyAlgoMlkem1024X448:
		default:
			continue
		}
		if keys == nil {
			continue
		}
		var ks []openpgp.Key
		if ek.KeyId == 0 {
			ks = keys.DecryptionKeys()
		} else {
			ks = keys.KeysById(ek.KeyId)
		}
		for _, k := range ks {
			pairs = append(pairs, pair{k, ek})
		}
	}
	for {
		var candidates []openpgp.Key
		seen := map[string]bool{}
		for _, p := range pairs {
			if p.key.PrivateKey == nil {
				continue
			}
			if !p.key.PrivateKey.Encrypted {
				if len(p.ek.Key) == 0 {
					if p.ek.Decrypt(p.key.PrivateKey, cfg) != nil {
						continue
					}
				}
				return p.ek, p.key, nil
			}
			if fpr := string(p.key.PublicKey.Fingerprint); !seen[fpr] {
				seen[fpr] = true
				candidates = append(candidates, p.key)
			}
		}
		if len(candidates) == 0 || prompt == nil {
			return nil, openpgp.Key{}, pgperrors.ErrKeyIncorrect
		}
		if _, err := prompt(candidates, false); err != nil {
			return nil, openpgp.Key{}, err
		}
	}
}

// literalBody parses the decrypted packets down to the literal data, as
// openpgp.ReadMessage does: compressed packets are opened (within
// cfg's decompression limit), signature packets passed over (Decrypt
// does not check signatures). The outermost packet, when compressed, is
// decompressed by decompress (klauspost/compress for ZIP and ZLIB), on
// the reader's goroutine; lb drains it once the literal data ended.
// Packets inside it are parsed by go-crypto, as are packets nested deeper.
func literalBody(plain io.Reader, cfg *packet.Config) (body io.Reader, lb *literalDecompression, err error) {
	lb = &literalDecompression{}
	h, err := readPacketHeader(plain)
	if err != nil {
		return nil, lb, err
	}
	var src io.Reader
	if h.tag == packetTagCompressed {
		r, err := decompress(h.body(plain))
		if err != nil {
			return nil, lb, err
		}
		if limit := cfg.DecompressedMessageSizeLimit(); limit != nil {
			r = &packet.LimitReader{R: r, N: *limit}
		}
		lb.r = r
		src = r
	} else {
		// go-crypto parses this packet too: give it back its header.
		src = io.MultiReader(bytes.NewReader(h.raw[:h.rawLen]), plain)
	}
	packets := packet.NewReader(src)
	for {
		p, err := packets.Next()
		if err != nil {
			return nil, lb, err
		}
		switch p := p.(type) {
		case *packet.Compressed:
			r := p.LimitedBodyReader(cfg.DecompressedMessageSizeLimit())
			if lb.r == nil {
				lb.r = r
			}
			if err := packets.Push(r); err != nil {
				return nil, lb, err
			}
		case *packet.LiteralData:
			return p.Body, lb, nil
		}
	}
}

// literalDecompression is the outermost decompressed packet around the
// literal data, if any.
type literalDecompression struct {
	r io.Reader // the decompressed data; nil when the literal data is not compressed
}

// drain decompresses the rest of the compressed packet, to its end, and
// returns the decompressor's error: a damaged or short stream, a wrong
// Adler-32.
func (l *literalDecompression) drain() error {
	if l.r == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, l.r)
	return err
}

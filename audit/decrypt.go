package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// DecryptOptions tune Decrypt. Nil means defaults.
type DecryptOptions struct {
	// Passphrase is asked for when the private key is protected by one;
	// it is asked again (up to three times in all) while the passphrase
	// does not unlock the key. The unlocked key stays unlocked for later
	// files.
	Passphrase func() ([]byte, error)
	// AllowUnauthenticated accepts messages without an integrity check
	// (MDC). Off by default: such a file could have been altered.
	AllowUnauthenticated bool
	// NoSync skips the flush of the mbox to the disk (fsync) that
	// DecryptFile makes before renaming it into place. By default the
	// file under its final name is complete even after a crash of the
	// machine, so the encrypted export can be deleted once DecryptFile
	// returns. With NoSync, as with gpg -o, the system writes the file out
	// in its own time: faster on slow disks, but a crash soon after can
	// leave a short mbox under the final name.
	NoSync bool
}

// DecryptResult describes a decrypted file.
type DecryptResult struct {
	Bytes    int64  // plaintext bytes written
	Messages int    // "From " separator lines of the mbox, i.e. messages
	KeyID    string // the key that decrypted it (hex)
}

var (
	// ErrWrongKey matches *WrongKeyError.
	ErrWrongKey = errors.New("audit: file is encrypted to another key")
	// ErrWrongPassphrase: the passphrase did not unlock the private key.
	ErrWrongPassphrase = errors.New("audit: passphrase does not unlock the private key")
	// ErrPassphraseRequired: the private key is protected and no
	// Passphrase function was given.
	ErrPassphraseRequired = errors.New("audit: private key is protected by a passphrase; none given")
	// ErrIntegrity matches *IntegrityError.
	ErrIntegrity = errors.New("audit: encrypted file failed its integrity check")
)

// WrongKeyError reports a file encrypted to keys the given key ring does
// not hold: usually the domain's public key was replaced after the export
// was requested, or the wrong private key file was given.
type WrongKeyError struct {
	Recipients []string // key ids the file is encrypted to (hex)
	Have       []string // key ids of the private keys given (hex)
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("audit: file is encrypted to key %s, but the private key given holds %s; use the private key that matches the public key uploaded when the export was requested",
		orUnknown(e.Recipients), orUnknown(e.Have))
}

func orUnknown(ids []string) string {
	if len(ids) == 0 {
		return "(unknown)"
	}
	return strings.Join(ids, ", ")
}

// Is matches ErrWrongKey.
func (e *WrongKeyError) Is(target error) bool { return target == ErrWrongKey }

// IntegrityError reports a file that decrypts but fails its integrity
// check (modification detection code), or is cut short or corrupt.
type IntegrityError struct{ Err error }

func (e *IntegrityError) Error() string {
	return "audit: encrypted file is damaged or was altered: " + e.Err.Error()
}

// Is matches ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

// Unwrap returns go-crypto's error.
func (e *IntegrityError) Unwrap() error { return e.Err }

// Decrypt streams the OpenPGP message src (binary or armored, as Google's
// .mbox.gpg files and gpg --encrypt make them) through the private keys
// in keys into dst, in constant memory, and counts the mbox messages on
// the way. The plaintext reaching dst before an integrity failure must be
// discarded: Decrypt returns an *IntegrityError at the end of such a file.
// A file encrypted to other keys gives a *WrongKeyError.
func Decrypt(ctx context.Context, dst io.Writer, src io.Reader, keys openpgp.EntityList, opts *DecryptOptions) (*DecryptResult, error) {
	var o DecryptOptions
	if opts != nil {
		o = *opts
	}
	br := bufio.NewReaderSize(&ctxReader{ctx: ctx, r: src}, readBufferSize)
	head, _ := br.Peek(64)
	var in = br
	if bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("-----BEGIN PGP MESSAGE")) {
		blk, err := armor.Decode(br)
		if err != nil {
			return nil, &IntegrityError{Err: err}
		}
		// Base64 decoding on a goroutine of its own, beside decryption.
		ra := newReadAhead(blk.Body, readAheadChunk, readAheadChunks)
		defer ra.stop()
		in = bufio.NewReaderSize(ra, readBufferSize)
	}
	recipients, fast := peekHead(in)

	tries := 0
	prompt := func(cands []openpgp.Key, symmetric bool) ([]byte, error) {
		if len(cands) == 0 {
			return nil, pgperrors.ErrKeyIncorrect
		}
		if o.Passphrase == nil {
			return nil, ErrPassphraseRequired
		}
		for {
			tries++
			if tries > 3 {
				return nil, ErrWrongPassphrase
			}
			pass, err := o.Passphrase()
			if err != nil {
				return nil, fmt.Errorf("audit: reading passphrase: %w", err)
			}
			for _, k := range cands {
				if k.PrivateKey != nil && k.PrivateKey.Encrypted && k.PrivateKey.Decrypt(pass) == nil {
					return nil, nil
				}
			}
		}
	}
	cfg := &packet.Config{InsecureAllowUnauthenticatedMessages: o.AllowUnauthenticated}
	var m *openedMessage
	var err error
	if fast {
		m, err = openSEIPD(in, keys, prompt, cfg)
	} else {
		var md *openpgp.MessageDetails
		md, err = openpgp.ReadMessage(in, keys, prompt, cfg)
		if err == nil {
			m = &openedMessage{body: md.UnverifiedBody, with: md.DecryptedWith, stop: func() {}}
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, pgperrors.ErrKeyIncorrect):
			return nil, &WrongKeyError{Recipients: recipients, Have: privateKeyIDs(keys)}
		case errors.Is(err, ErrWrongPassphrase), errors.Is(err, ErrPassphraseRequired), ctx.Err() != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		return nil, &IntegrityError{Err: err}
	}
	defer m.stop()
	res := &DecryptResult{}
	if m.with.PublicKey != nil {
		res.KeyID = m.with.PublicKey.KeyIdString()
	}
	cw := &mboxCounter{w: dst}
	n, err := cw.ReadFrom(m.body)
	if err == nil && m.finish != nil {
		// The literal data ended: read the rest of the encrypted packet
		// and check its integrity.
		err = m.finish()
	}
	res.Bytes, res.Messages = n, cw.n
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if cw.err != nil {
			return res, cw.err
		}
		return res, &IntegrityError{Err: err}
	}
	return res, nil
}

const (
	readBufferSize = 256 << 10
	copyBufferSize = 256 << 10
	writeChunkSize = 1 << 20
	writeChunks    = 4
	// the size of write system calls
	writeSyscallSize = 128 << 10
	// base64-decoded data read ahead (armored files)
	readAheadChunk  = 256 << 10
	readAheadChunks = 4
)

// DecryptFile decrypts the file src into dst (mode 0600), writing dst.part
// first and renaming it only when the whole file decrypted and passed its
// integrity check; on any failure dst.part is removed. The file is
// flushed to the disk before the rename unless DecryptOptions.NoSync is
// set.
func DecryptFile(ctx context.Context, dst, src string, keys openpgp.EntityList, opts *DecryptOptions) (*DecryptResult, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer in.Close()
	part := dst + ".part"
	out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	aw := newAsyncWriter(out, writeChunkSize, writeChunks)
	res, err := Decrypt(ctx, aw, in, keys, opts)
	if werr := aw.Close(); err == nil {
		err = werr
	}
	if err == nil && (opts == nil || !opts.NoSync) {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(part)
		return res, err
	}
	if err := os.Rename(part, dst); err != nil {
		return res, fmt.Errorf("audit: %w", err)
	}
	return res, nil
}

// peekHead lists the key ids of the public-key-encrypted session keys at
// the start of the message, without consuming it, and tells whether they
// are followed by a version 1 integrity protected packet (what gpg and
// Google make), the one case openSEIPD handles.
func peekHead(br *bufio.Reader) (ids []string, seipd bool) {
	head, _ := br.Peek(8 << 10)
	pr := packet.NewReader(bytes.NewReader(head))
	for range 32 {
		p, err := pr.Next()
		if err != nil {
			break
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			if p.KeyId == 0 {
				ids = append(ids, "(hidden)")
			} else {
				ids = append(ids, fmt.Sprintf("%016X", p.KeyId))
			}
			continue
		case *packet.SymmetricallyEncrypted:
			seipd = len(ids) > 0 && p.IntegrityProtected && p.Version == 1
		}
		break
	}
	return ids, seipd
}

func privateKeyIDs(keys openpgp.EntityList) []string {
	var ids []string
	for _, e := range keys {
		if e.PrivateKey != nil {
			ids = append(ids, e.PrimaryKey.KeyIdString())
		}
		for _, sk := range e.Subkeys {
			if sk.PrivateKey != nil {
				ids = append(ids, sk.PublicKey.KeyIdString())
			}
		}
	}
	return ids
}

// ctxReader fails reads once ctx is done, so a long decryption stops.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// mboxCounter passes bytes through and counts lines that start with
// "From " (mbox separators; quoted ">From " lines inside messages do not
// count).
type mboxCounter struct {
	w       io.Writer
	n       int
	partial int  // bytes of "From " matched at a line start at the end of the data so far
	notBOL  bool // the last byte so far was not a newline (false at the start)
	err     error
}

const fromLine = "From "

func (c *mboxCounter) Write(p []byte) (int, error) {
	c.count(p)
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// ReadFrom copies r to the writer, reading straight into the buffers of
// an asyncWriter (DecryptFile's) to save a copy.
func (c *mboxCounter) ReadFrom(r io.Reader) (int64, error) {
	aw, ok := c.w.(*asyncWriter)
	if !ok {
		return io.CopyBuffer(struct{ io.Writer }{c}, r, make([]byte, copyBufferSize))
	}
	var n int64
	for {
		buf, err := aw.next()
		if err != nil {
			c.err = err
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			c.count(buf[:m])
			aw.commit(m)
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func (c *mboxCounter) count(p []byte) {
	if len(p) == 0 {
		return
	}
	i := 0
	if c.partial > 0 {
		// Finish the separator begun at the end of the previous data.
		k := min(len(fromLine)-c.partial, len(p))
		if string(p[:k]) == fromLine[c.partial:c.partial+k] {
			if c.partial += k; c.partial < len(fromLine) {
				return // p ended within it again
			}
			c.n++
			i = k
		}
		c.partial = 0
	}
	// Every "From " in the rest of p, at a line start. (bytes.Index is
	// much faster than looking at every line.)
	for j := i; ; {
		k := bytes.Index(p[j:], []byte(fromLine))
		if k < 0 {
			break
		}
		at := j + k
		if at > 0 && p[at-1] == '\n' || at == 0 && !c.notBOL {
			c.n++
		}
		j = at + len(fromLine)
	}
	// A separator may begin at the end of p.
	for t := min(len(fromLine)-1, len(p)-i); t > 0; t-- {
		at := len(p) - t
		if string(p[at:]) == fromLine[:t] && (at > 0 && p[at-1] == '\n' || at == 0 && !c.notBOL) {
			c.partial = t
			break
		}
	}
	c.notBOL = p[len(p)-1] != '\n'
}

//go:build !amd64

package audit

// ecbFunc returns a multi-block AES encryption under key for the CFB
// decrypter, or nil where there is none: the decrypter then encrypts
// block by block with crypto/aes.
func ecbFunc(key []byte) func(dst, src []byte) { return nil }

// cfbFunc returns a multi-block CFB decryption under key, or nil where
// there is none: the decrypter then uses ecbFunc and XORs after.
func cfbFunc(key []byte) func(dst, src, x []byte) { return nil }

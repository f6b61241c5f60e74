// Package encryption encrypts Secrets wherever Baton writes them to disk,
// with AES-256-GCM under keys that the host program provides through a
// KeySource. Every ciphertext starts with a prefix naming the provider and
// the key that sealed it — "baton:enc:aesgcm:v1:<key id>:" — so that keys
// can rotate: new data is sealed with the current key, and data sealed
// with an older key stays readable while that key is still offered.
package encryption

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// prefix starts every ciphertext; the key id and a colon follow.
const prefix = "baton:enc:aesgcm:v1:"

// KeySize is the size of an AES-256 key.
const KeySize = 32

// ErrUnknownKey says a ciphertext was sealed with a key the KeySource does
// not have.
var ErrUnknownKey = errors.New("encryption key not found")

// KeySource provides keys. Implementations are safe for concurrent use.
type KeySource interface {
	// Current returns the key new data is sealed with, and its id.
	Current() (id string, key []byte, err error)
	// Key returns the key with id, to open data sealed with it, or an
	// error matching ErrUnknownKey.
	Key(id string) ([]byte, error)
}

// IsEncrypted reports whether data is a ciphertext of this package.
func IsEncrypted(data []byte) bool { return bytes.HasPrefix(data, []byte(prefix)) }

// Encrypt seals plaintext with ks's current key.
func Encrypt(ks KeySource, plaintext []byte) ([]byte, error) {
	id, key, err := ks.Current()
	if err != nil {
		return nil, fmt.Errorf("encryption: current key: %w", err)
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("encryption: key %q: %w", id, err)
	}
	header := prefix + id + ":"
	out := make([]byte, len(header), len(header)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	copy(out, header)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encryption: nonce: %w", err)
	}
	out = append(out, nonce...)
	// The header is authenticated too, so a ciphertext cannot be moved
	// under another key id.
	return aead.Seal(out, nonce, plaintext, []byte(header)), nil
}

// Decrypt opens data sealed by Encrypt, with whichever of ks's keys sealed
// it.
func Decrypt(ks KeySource, data []byte) ([]byte, error) {
	if !IsEncrypted(data) {
		return nil, fmt.Errorf("encryption: the data does not start with %q; it was not sealed by Baton", prefix)
	}
	rest := data[len(prefix):]
	i := bytes.IndexByte(rest, ':')
	if i <= 0 {
		return nil, fmt.Errorf("encryption: the data names no key id")
	}
	id := string(rest[:i])
	key, err := ks.Key(id)
	if err != nil {
		return nil, fmt.Errorf("encryption: key %q: %w", id, err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("encryption: key %q: %w", id, err)
	}
	header := data[:len(prefix)+i+1]
	body := rest[i+1:]
	if len(body) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("encryption: the data sealed with key %q is truncated", id)
	}
	plaintext, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], header)
	if err != nil {
		return nil, fmt.Errorf("encryption: the data sealed with key %q does not authenticate: it was altered, or the key is not the one that sealed it", id)
	}
	return plaintext, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("a key must be %d bytes (AES-256), not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// checkID refuses a key id that is empty or holds a colon (which ends the
// id in a ciphertext's prefix) or any Unicode white space.
func checkID(id string) error {
	if id == "" || strings.ContainsFunc(id, func(r rune) bool { return r == ':' || unicode.IsSpace(r) }) {
		return fmt.Errorf("encryption: key id %q must be non-empty, without colons or whitespace", id)
	}
	return nil
}

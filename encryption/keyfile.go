package encryption

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// KeyFile is a KeySource read from a file that only its owner can read
// (mode 0600 or stricter). Each non-empty line that is not a comment (#)
// holds one key as "<id>:<base64 of 32 bytes>"; the first line is the
// current key and the others open older data. To rotate, put a new key on
// the first line and keep the old ones below until nothing sealed with
// them remains.
type KeyFile struct {
	ids  []string
	keys map[string][]byte
}

var _ KeySource = (*KeyFile)(nil)

// LoadKeyFile reads path. It refuses a file that group or others may read
// or write.
func LoadKeyFile(path string) (*KeyFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("encryption: key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("encryption: key file %s has mode %04o; make it readable by its owner only: chmod 600 %s",
			path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption: key file: %w", err)
	}
	return ParseKeys(data)
}

// ParseKeys reads keys in the KeyFile format from data.
func ParseKeys(data []byte) (*KeyFile, error) {
	kf := &KeyFile{keys: map[string][]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, encoded, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("encryption: key line %d: want <id>:<base64 key>", n)
		}
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("encryption: key line %d: %w", n, err)
		}
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil || len(key) != KeySize {
			// The key itself is never echoed.
			return nil, fmt.Errorf("encryption: key line %d (%s): want the base64 of %d random bytes", n, id, KeySize)
		}
		if _, dup := kf.keys[id]; dup {
			return nil, fmt.Errorf("encryption: key line %d: id %q appears twice", n, id)
		}
		kf.ids = append(kf.ids, id)
		kf.keys[id] = key
	}
	if len(kf.ids) == 0 {
		return nil, fmt.Errorf("encryption: the key file holds no key; add a line <id>:<base64 of %d random bytes>", KeySize)
	}
	return kf, nil
}

// Current returns the first key.
func (k *KeyFile) Current() (string, []byte, error) {
	return k.ids[0], k.keys[k.ids[0]], nil
}

// Key returns the key with id.
func (k *KeyFile) Key(id string) ([]byte, error) {
	key, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("no key %q in the key file: %w", id, ErrUnknownKey)
	}
	return key, nil
}

package encryption

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func keyLine(t *testing.T, id string) string {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key)
}

func TestRoundTripAndNoPlaintext(t *testing.T) {
	ks, err := ParseKeys([]byte(keyLine(t, "k1")))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("hunter2-canary-value")
	sealed, err := Encrypt(ks, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || !strings.HasPrefix(string(sealed), "baton:enc:aesgcm:v1:k1:") {
		t.Fatalf("sealed data %q", sealed)
	}
	opened, err := Decrypt(ks, sealed)
	if err != nil || !bytes.Equal(opened, secret) {
		t.Fatalf("opened %q, %v", opened, err)
	}
	again, _ := Encrypt(ks, secret)
	if bytes.Equal(again, sealed) {
		t.Error("two encryptions of the same value are equal: the nonce is not random")
	}
}

func TestRotationKeepsOldDataReadable(t *testing.T) {
	old := keyLine(t, "2026-01")
	ks1, _ := ParseKeys([]byte(old))
	sealed, err := Encrypt(ks1, []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	ks2, err := ParseKeys([]byte(keyLine(t, "2026-06") + "\n" + old))
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := Decrypt(ks2, sealed); err != nil || string(opened) != "v1" {
		t.Fatalf("old data after rotation: %q, %v", opened, err)
	}
	resealed, _ := Encrypt(ks2, []byte("v1"))
	if !strings.Contains(string(resealed), ":2026-06:") {
		t.Errorf("new data not sealed with the new key: %q", resealed[:30])
	}
	ks3, _ := ParseKeys([]byte(keyLine(t, "2027-01")))
	if _, err := Decrypt(ks3, sealed); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("opening with a key source that dropped the key: %v, want ErrUnknownKey", err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	ks, _ := ParseKeys([]byte(keyLine(t, "a") + "\n" + keyLine(t, "b")))
	sealed, _ := Encrypt(ks, []byte("value"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	if _, err := Decrypt(ks, flipped); err == nil {
		t.Error("a flipped bit went unnoticed")
	}
	moved := bytes.Replace(sealed, []byte(":a:"), []byte(":b:"), 1)
	if _, err := Decrypt(ks, moved); err == nil {
		t.Error("a ciphertext moved under another key id went unnoticed")
	}
	if _, err := Decrypt(ks, []byte("plain")); err == nil {
		t.Error("plaintext accepted as ciphertext")
	}
}

func TestKeyFileMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	line := keyLine(t, "k")
	if err := os.WriteFile(path, []byte("# keys\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	kf, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, _, _ := kf.Current(); id != "k" {
		t.Errorf("current key %q", id)
	}
	for _, bad := range []string{"", "nokey", "k:notbase64!", "k:" + base64.StdEncoding.EncodeToString([]byte("short")), line + "\n" + line} {
		_, err := ParseKeys([]byte(bad))
		if err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		} else if strings.Contains(err.Error(), strings.TrimPrefix(line, "k:")) {
			t.Errorf("an error quotes the key: %v", err)
		}
	}
}

// staticKeys is a KeySource with one key under any id, even one that
// ParseKeys would refuse, so that Encrypt's own check is tested.
type staticKeys struct{ id string }

func (s staticKeys) Current() (string, []byte, error) { return s.id, make([]byte, KeySize), nil }
func (s staticKeys) Key(string) ([]byte, error)       { return make([]byte, KeySize), nil }

// Key ids may hold any letters (t and n included) and backslashes; a
// colon or any white space is refused, by ParseKeys and by Encrypt.
func TestKeyIDs(t *testing.T) {
	for _, id := range []string{"current", "rotation-2", "k1", "tn", `back\slash`, "2026-01.key_v3"} {
		if _, err := ParseKeys([]byte(keyLine(t, id))); err != nil {
			t.Errorf("ParseKeys refused id %q: %v", id, err)
		}
		sealed, err := Encrypt(staticKeys{id}, []byte("x"))
		if err != nil {
			t.Errorf("Encrypt refused id %q: %v", id, err)
			continue
		}
		if _, err := Decrypt(staticKeys{id}, sealed); err != nil {
			t.Errorf("Decrypt of data sealed under id %q: %v", id, err)
		}
	}
	for _, id := range []string{"", "a\tb", "a b", "a:b", "a\nb", "a\rb", "a\u00a0b", "a\u2003b", "a\vb"} {
		if err := checkID(id); err == nil {
			t.Errorf("checkID accepted %q", id)
		}
		if _, err := Encrypt(staticKeys{id}, []byte("x")); err == nil {
			t.Errorf("Encrypt accepted id %q", id)
		}
	}
	// Through a key file too.
	if _, err := ParseKeys([]byte(keyLine(t, "a\tb"))); err == nil {
		t.Error("ParseKeys accepted an id with a tab")
	}
}

package deployment

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/encryption"
	"github.com/batonhq/baton/internal/store"
)

func hashDeployment() *api.Deployment {
	d := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web",
		Annotations: map[string]string{api.AnnotationRestartOnConfigChange: "true"}}}
	d.Spec.Template.Spec.Containers = []api.Container{{Name: "app", Image: "app",
		Env: []api.EnvVar{
			{Name: "PASSWORD", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{
				LocalObjectReference: api.LocalObjectReference{Name: "db"}, Key: "password"}}},
			{Name: "LEVEL", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{
				LocalObjectReference: api.LocalObjectReference{Name: "app"}, Key: "level"}}},
		}}}
	return d
}

func hashOf(t *testing.T, s *store.Store, d *api.Deployment) string {
	t.Helper()
	var h string
	s.View(func(tx store.ReadTx) { h = configHash(tx, d) })
	return h
}

func update[T api.Object](t *testing.T, s *store.Store, namespace, name string, change func(T)) {
	t.Helper()
	err := s.Update(func(tx store.Tx) error {
		obj, err := store.Get[T](tx, namespace, name)
		if err != nil {
			return err
		}
		next := obj.DeepCopyObject().(T)
		change(next)
		return tx.Update(next)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// secretsWithData shows every Secret with data in place of its own, the
// rest of the store as it is.
type secretsWithData struct {
	store.ReadTx
	data map[string][]byte
}

func (r secretsWithData) Each(kind, namespace string, fn func(api.Object) bool) {
	r.ReadTx.Each(kind, namespace, func(obj api.Object) bool {
		if sec, ok := obj.(*api.Secret); ok {
			sec = sec.DeepCopyObject().(*api.Secret)
			sec.Data = r.data
			obj = sec
		}
		return fn(obj)
	})
}

// The config hash changes when a Secret the template uses changes, stays
// put while nothing does (and across a snapshot restore), and reveals
// nothing of the Secret's values: it does not depend on them at all.
func TestConfigHashRevealsNoSecretValue(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	const value = "hunter2"
	err = s.Update(func(tx store.Tx) error {
		if err := tx.Create(&api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "db"},
			Data: map[string][]byte{"password": []byte(value)}}); err != nil {
			return err
		}
		return tx.Create(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"},
			Data: map[string]string{"level": "debug"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	d := hashDeployment()
	first := hashOf(t, s, d)
	if again := hashOf(t, s, d); again != first {
		t.Fatalf("the hash moved with nothing changed: %s, then %s", first, again)
	}

	// Not a function of the values: the same store with other values in
	// the Secret hashes the same.
	s.View(func(tx store.ReadTx) {
		for _, other := range []string{"", "hunter3", value + value} {
			if h := configHash(secretsWithData{tx, map[string][]byte{"password": []byte(other)}}, d); h != first {
				t.Errorf("the hash depends on the Secret's value: %q gives %s, %q gives %s", value, first, other, h)
			}
		}
	})
	// Nor a digest an attacker could compute from a guess: the digest the
	// hash was before, over the names and values.
	old := sha256.New()
	for _, p := range []string{api.KindConfigMap, "app", "level", "debug", api.KindSecret, "db", "password", value} {
		old.Write([]byte(p))
		old.Write([]byte{0})
	}
	if guess := hex.EncodeToString(old.Sum(nil))[:16]; guess == first || strings.Contains(first, hex.EncodeToString([]byte(value))) {
		t.Errorf("the hash %s is a digest of the Secret's value", first)
	}

	// A change of the Secret changes the hash.
	update(t, s, "default", "db", func(sec *api.Secret) {
		sec.Data = map[string][]byte{"password": []byte("rotated")}
		sec.Generation++ // as the clients count a change of data
	})
	rotated := hashOf(t, s, d)
	if rotated == first {
		t.Error("the hash did not change with the Secret")
	}
	// So does a change of the ConfigMap's data; a write of the ConfigMap
	// that changes no data does not.
	update(t, s, "default", "app", func(cm *api.ConfigMap) { cm.Labels = map[string]string{"touched": "yes"} })
	if h := hashOf(t, s, d); h != rotated {
		t.Error("a ConfigMap write that changed no data changed the hash")
	}
	update(t, s, "default", "app", func(cm *api.ConfigMap) {
		cm.Data = map[string]string{"level": "info"}
		cm.Generation++ // as the clients count a change of data
	})
	info := hashOf(t, s, d)
	if info == rotated {
		t.Error("the hash did not change with the ConfigMap's data")
	}
	// A Secret deleted, then created again with its old value: changed.
	if err := s.Update(func(tx store.Tx) error { return tx.Delete(api.KindSecret, "default", "db", store.Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	gone := hashOf(t, s, d)
	if gone == info {
		t.Error("the hash did not change when the Secret was deleted")
	}
	if err := s.Update(func(tx store.Tx) error {
		return tx.Create(&api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "db"},
			Data: map[string][]byte{"password": []byte("rotated")}})
	}); err != nil {
		t.Fatal(err)
	}
	recreated := hashOf(t, s, d)
	if recreated == gone || recreated == info {
		t.Error("the hash did not change when the Secret was created again")
	}

	// Stable across a restart from a snapshot, so restarting rolls nothing.
	raw := make([]byte, encryption.KeySize)
	_, _ = rand.Read(raw)
	keys, err := encryption.ParseKeys([]byte("k1:" + base64.StdEncoding.EncodeToString(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := s.Save(&snap, keys); err != nil {
		t.Fatal(err)
	}
	restored, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Restore(&snap, keys); err != nil {
		t.Fatal(err)
	}
	if h := hashOf(t, restored, d); h != recreated {
		t.Errorf("the hash changed across a snapshot restore: %s, then %s", recreated, h)
	}
}

package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/encryption"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pod(ns, name string) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}},
	}
}

func create(t *testing.T, s *Store, obj api.Object) {
	t.Helper()
	if err := s.Update(func(tx Tx) error { return tx.Create(obj) }); err != nil {
		t.Fatalf("create %s: %v", obj.GetObjectMeta().Key(), err)
	}
}

func getPod(t *testing.T, s *Store, ns, name string) (*api.Pod, error) {
	t.Helper()
	var p *api.Pod
	var err error
	s.View(func(tx ReadTx) { p, err = Get[*api.Pod](tx, ns, name) })
	return p, err
}

func TestCreateSetsIdentityAndRevision(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "a"))
	create(t, s, pod("default", "b"))
	a, err := getPod(t, s, "default", "a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := getPod(t, s, "default", "b")
	if a.UID == "" || a.UID == b.UID || len(a.UID) != 36 {
		t.Errorf("uids %q and %q: want distinct UUIDs", a.UID, b.UID)
	}
	if a.ResourceVersion != "1" || b.ResourceVersion != "2" || s.Revision() != 2 {
		t.Errorf("resourceVersions %s, %s at revision %d: want 1, 2 at 2", a.ResourceVersion, b.ResourceVersion, s.Revision())
	}
	if a.Generation != 1 || a.CreationTimestamp.IsZero() {
		t.Errorf("generation %d, creationTimestamp %v: want 1 and set", a.Generation, a.CreationTimestamp)
	}
}

func TestCreateRejectsDuplicateAndMissingNamespace(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "a"))
	err := s.Update(func(tx Tx) error { return tx.Create(pod("default", "a")) })
	if !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("duplicate create: got %v, want ErrAlreadyExists", err)
	}
	err = s.Update(func(tx Tx) error { return tx.Create(pod("", "b")) })
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("create without namespace: got %v, want ErrInvalid", err)
	}
	if s.Revision() != 1 {
		t.Errorf("failed creates moved the revision to %d", s.Revision())
	}
}

func TestGenerateName(t *testing.T) {
	s := newStore(t)
	for range 50 {
		p := pod("default", "")
		p.GenerateName = "web-"
		create(t, s, p)
	}
	var pods []*api.Pod
	s.View(func(tx ReadTx) { pods = List[*api.Pod](tx, "default") })
	seen := map[string]bool{}
	for _, p := range pods {
		if len(p.Name) != len("web-")+5 || seen[p.Name] {
			t.Errorf("generated name %q: want web- plus 5 unique characters", p.Name)
		}
		seen[p.Name] = true
	}
	if len(pods) != 50 {
		t.Errorf("got %d pods, want 50", len(pods))
	}
}

func TestUpdateChecksResourceVersion(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "a"))
	stored, _ := getPod(t, s, "default", "a")

	fresh := stored.DeepCopy()
	fresh.Labels["v"] = "2"
	if err := s.Update(func(tx Tx) error { return tx.Update(fresh) }); err != nil {
		t.Fatalf("update at current version: %v", err)
	}
	stale := stored.DeepCopy()
	stale.Labels["v"] = "stale"
	err := s.Update(func(tx Tx) error { return tx.Update(stale) })
	if !errors.Is(err, api.ErrConflict) {
		t.Fatalf("update at stale version: got %v, want ErrConflict", err)
	}
	got, _ := getPod(t, s, "default", "a")
	if got.Labels["v"] != "2" {
		t.Errorf("stale update overwrote the label: %q", got.Labels["v"])
	}
	if got.UID != stored.UID || !got.CreationTimestamp.Equal(stored.CreationTimestamp.Time) {
		t.Error("update changed uid or creationTimestamp")
	}
}

func TestFailedTransactionWritesNothing(t *testing.T) {
	s := newStore(t)
	var changes []Change
	_, cancel := s.Subscribe(nil, func(c Change) { changes = append(changes, c) })
	defer cancel()
	err := s.Update(func(tx Tx) error {
		if err := tx.Create(pod("default", "a")); err != nil {
			return err
		}
		return errors.New("boom")
	})
	if err == nil || err.Error() != "boom" {
		t.Fatalf("got %v, want boom", err)
	}
	if _, err := getPod(t, s, "default", "a"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("aborted create is visible: %v", err)
	}
	if s.Revision() != 0 || len(changes) != 0 {
		t.Errorf("aborted transaction took revision %d and published %d changes", s.Revision(), len(changes))
	}
}

// Concurrent read-modify-write cycles that retry on conflict must add up:
// no increment is lost.
func TestConcurrentUpdatesNeverLoseAWrite(t *testing.T) {
	s := newStore(t)
	p := pod("default", "counter")
	p.Annotations = map[string]string{"n": "0"}
	create(t, s, p)
	const writers, increments = 8, 50
	var conflicts sync.Map
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				for {
					cur, _ := getPod(t, s, "default", "counter")
					next := cur.DeepCopy()
					n, _ := strconv.Atoi(next.Annotations["n"])
					next.Annotations["n"] = strconv.Itoa(n + 1)
					err := s.Update(func(tx Tx) error { return tx.Update(next) })
					if err == nil {
						break
					}
					if !errors.Is(err, api.ErrConflict) {
						t.Errorf("update: %v", err)
						return
					}
					conflicts.Store(w, true)
				}
			}
		}()
	}
	wg.Wait()
	got, _ := getPod(t, s, "default", "counter")
	if got.Annotations["n"] != strconv.Itoa(writers*increments) {
		t.Errorf("counter = %s, want %d", got.Annotations["n"], writers*increments)
	}
}

func TestDeletePreconditions(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "a"))
	err := s.Update(func(tx Tx) error { return tx.Delete(api.KindPod, "default", "a", Preconditions{UID: "other"}) })
	if !errors.Is(err, api.ErrConflict) {
		t.Errorf("delete with wrong uid: got %v, want ErrConflict", err)
	}
	err = s.Update(func(tx Tx) error { return tx.Delete(api.KindPod, "default", "a", Preconditions{}) })
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx Tx) error { return tx.Delete(api.KindPod, "default", "a", Preconditions{}) })
	if !errors.Is(err, api.ErrNotFound) {
		t.Errorf("second delete: got %v, want ErrNotFound", err)
	}
}

func TestIndexes(t *testing.T) {
	s := newStore(t)
	owner := &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}}
	create(t, s, owner)
	for i := range 3 {
		p := pod("default", fmt.Sprintf("web-%d", i))
		p.OwnerReferences = []api.OwnerReference{api.NewControllerRef(owner, api.AppsV1)}
		p.Spec.NodeName = fmt.Sprintf("node-%d", i%2)
		create(t, s, p)
	}
	create(t, s, pod("other", "web-x"))
	create(t, s, pod("default-2", "z"))
	s.View(func(tx ReadTx) {
		if got := len(tx.ListByOwner(api.KindPod, owner.UID)); got != 3 {
			t.Errorf("pods by owner: %d, want 3", got)
		}
		if got := len(tx.PodsOnNode("node-0")); got != 2 {
			t.Errorf("pods on node-0: %d, want 2", got)
		}
		// "default/" must not match "default-2/".
		if got := len(tx.List(api.KindPod, "default")); got != 3 {
			t.Errorf("pods in default: %d, want 3", got)
		}
		if got := len(tx.List(api.KindPod, "")); got != 5 {
			t.Errorf("pods in all namespaces: %d, want 5", got)
		}
		first := tx.List(api.KindPod, "default")[0].(*api.Pod)
		_, err := tx.GetByUID(api.KindPod, first.UID)
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("pods by uid: got %v, want ErrInvalid", err)
		}
		byUID, err := tx.GetByUID(api.KindDeployment, owner.UID)
		if err != nil || byUID != api.Object(owner) {
			t.Errorf("get by uid: %v", err)
		}
	})
}

func TestSubscribeSeesEveryChangeInOrder(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "before"))
	var got []string
	snap, cancel := s.Subscribe(nil, func(c Change) {
		got = append(got, fmt.Sprintf("%s %s@%d", c.Type, c.Object.GetObjectMeta().Name, c.Revision))
	})
	if n := len(snap.List(api.KindPod, "")); n != 1 || snap.Revision() != 1 {
		t.Fatalf("snapshot has %d pods at revision %d, want 1 at 1", n, snap.Revision())
	}
	create(t, s, pod("default", "a"))
	err := s.Update(func(tx Tx) error {
		if err := tx.Create(pod("default", "b")); err != nil {
			return err
		}
		return tx.Delete(api.KindPod, "default", "a", Preconditions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	create(t, s, pod("default", "after-cancel"))
	want := []string{"ADDED a@2", "ADDED b@3", "DELETED a@3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes = %v, want %v", got, want)
	}
}

func TestWatchStartsWithStateThenChanges(t *testing.T) {
	s := newStore(t)
	create(t, s, pod("default", "a"))
	create(t, s, pod("other", "x"))
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Watch(ctx, s, WatchOptions{Kind: api.KindPod, Namespace: "default"}, func(c Change) (string, bool) {
		return fmt.Sprintf("%s %s", c.Type, c.Object.GetObjectMeta().Name), true
	})
	if err != nil {
		t.Fatal(err)
	}
	create(t, s, pod("default", "b"))
	create(t, s, pod("other", "y"))
	if err := s.Update(func(tx Tx) error { return tx.Delete(api.KindPod, "default", "a", Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ADDED a", "ADDED b", "DELETED a"} {
		if got := receive(t, ch); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	cancel()
	for range ch { // drains until the watch closes
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("watch closed early")
		}
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event within 5s")
	}
	panic("unreachable")
}

func TestWatchFromRevision(t *testing.T) {
	s := newStore(t, WithHistory(4))
	for i := range 3 {
		create(t, s, pod("default", fmt.Sprintf("p%d", i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, s, WatchOptions{Kind: api.KindPod, FromRevision: 1}, func(c Change) (uint64, bool) {
		return c.Revision, true
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := receive(t, ch), receive(t, ch); a != 2 || b != 3 {
		t.Errorf("resumed at revisions %d, %d; want 2, 3", a, b)
	}
	for i := 3; i < 8; i++ {
		create(t, s, pod("default", fmt.Sprintf("p%d", i)))
	}
	_, err = Watch(ctx, s, WatchOptions{Kind: api.KindPod, FromRevision: 1}, func(c Change) (uint64, bool) { return 0, true })
	if !errors.Is(err, api.ErrExpired) {
		t.Errorf("watch from a revision no longer kept: got %v, want ErrExpired", err)
	}
	_, err = Watch(ctx, s, WatchOptions{Kind: api.KindPod, FromRevision: 99}, func(c Change) (uint64, bool) { return 0, true })
	if !errors.Is(err, api.ErrInvalid) {
		t.Errorf("watch from the future: got %v, want ErrInvalid", err)
	}
}

func TestSlowWatcherDoesNotBlockWriters(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := Watch(ctx, s, WatchOptions{Kind: api.KindPod}, func(c Change) (string, bool) {
		return c.Object.GetObjectMeta().Name, true
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 { // nobody reads meanwhile
		create(t, s, pod("default", fmt.Sprintf("p%04d", i)))
	}
	for i := range 1000 {
		if got, want := receive(t, ch), fmt.Sprintf("p%04d", i); got != want {
			t.Fatalf("event %d is %s, want %s", i, got, want)
		}
	}
	cancel()
	for range ch {
	}
}

func TestSaveRestore(t *testing.T) {
	s := newStore(t)
	create(t, s, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})
	create(t, s, pod("default", "a"))
	create(t, s, &api.Node{ObjectMeta: api.ObjectMeta{Name: "local"}})
	var buf bytes.Buffer
	if err := s.Save(&buf, nil); err != nil {
		t.Fatal(err)
	}
	restored := newStore(t)
	if err := restored.Restore(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if restored.Revision() != s.Revision() {
		t.Errorf("restored revision %d, want %d", restored.Revision(), s.Revision())
	}
	want, _ := getPod(t, s, "default", "a")
	got, err := getPod(t, restored, "default", "a")
	if err != nil || got.UID != want.UID || got.ResourceVersion != want.ResourceVersion {
		t.Errorf("restored pod %+v (err %v), want uid %s rv %s", got, err, want.UID, want.ResourceVersion)
	}
	// The next write continues the revision sequence.
	create(t, restored, pod("default", "b"))
	if restored.Revision() != s.Revision()+1 {
		t.Errorf("revision after restore+create = %d, want %d", restored.Revision(), s.Revision()+1)
	}
	if err := restored.Restore(bytes.NewReader(buf.Bytes()), nil); !errors.Is(err, api.ErrFailedPrecondition) {
		t.Errorf("restore into a used store: got %v, want ErrFailedPrecondition", err)
	}
	if err := newStore(t).Restore(bytes.NewReader([]byte("{}\n")), nil); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("restore of a non-snapshot: got %v, want ErrInvalid", err)
	}
}

// BenchmarkCreatePods measures one transaction per pod against batches of
// 1000 pods per transaction.
func BenchmarkCreatePods(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := newStore(b)
			b.ReportAllocs()
			for i := 0; i < b.N; i += batch {
				err := s.Update(func(tx Tx) error {
					for j := i; j < i+batch && j < b.N; j++ {
						p := pod("default", "p"+strconv.Itoa(j))
						p.Spec.NodeName = "n"
						if err := tx.Create(p); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSnapshotSealsSecrets(t *testing.T) {
	s := newStore(t)
	create(t, s, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})
	canary := "canary-7f3a-do-not-leak"
	create(t, s, &api.Secret{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "db"}, Data: map[string][]byte{"password": []byte(canary)}})
	var buf bytes.Buffer
	if err := s.Save(&buf, nil); !errors.Is(err, api.ErrFailedPrecondition) || buf.Len() != 0 {
		t.Fatalf("save without keys: %v, wrote %d bytes; want a refusal writing nothing", err, buf.Len())
	}
	keys, err := encryption.ParseKeys([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(&buf, keys); err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{canary, base64.StdEncoding.EncodeToString([]byte(canary))} {
		if bytes.Contains(buf.Bytes(), []byte(form)) {
			t.Fatalf("the snapshot holds the secret value in plaintext (%q)", form)
		}
	}
	if err := newStore(t).Restore(bytes.NewReader(buf.Bytes()), nil); !errors.Is(err, api.ErrFailedPrecondition) {
		t.Errorf("restore without keys: %v", err)
	}
	restored := newStore(t)
	if err := restored.Restore(bytes.NewReader(buf.Bytes()), keys); err != nil {
		t.Fatal(err)
	}
	restored.View(func(tx ReadTx) {
		sec, err := Get[*api.Secret](tx, "default", "db")
		if err != nil || string(sec.Data["password"]) != canary {
			t.Errorf("restored secret: %v, %v", sec, err)
		}
	})
}

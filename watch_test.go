package baton_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// describe renders a watch event as "TYPE name app=label".
func describe(ev baton.WatchEvent[*baton.Pod]) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s app=%s", ev.Type, ev.Object.Name, ev.Object.Labels["app"]))
}

func expectEvents(t *testing.T, events <-chan baton.WatchEvent[*baton.Pod], want ...string) []baton.WatchEvent[*baton.Pod] {
	t.Helper()
	var got []baton.WatchEvent[*baton.Pod]
	for i, w := range want {
		ev, ok := <-events
		if !ok {
			t.Fatalf("watch closed before event %d (%q)", i, w)
		}
		if d := describe(ev); d != w {
			t.Fatalf("event %d = %q, want %q", i, d, w)
		}
		got = append(got, ev)
	}
	return got
}

func relabel(t *testing.T, pods *baton.PodClient, name, app string) *baton.Pod {
	t.Helper()
	ctx := context.Background()
	p, err := pods.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"app": app}
	if p, err = pods.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func labelledPod(name, app string) *baton.Pod {
	p := podOf(name, "", baton.Container{Name: "c", Image: "nginx"})
	p.Labels = map[string]string{"app": app}
	return p
}

// A watch with a label selector sees an object only while it matches, as
// in Kubernetes: labelled in, it arrives as Added; labelled out, as Deleted
// with its last matching state. The deletion of an object already gone
// from the selection is not delivered.
func TestWatchWithSelectorFollowsObjectsInAndOut(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	pods := o.Pods("default")
	for name, app := range map[string]string{"p": "web", "q": "db"} {
		if _, err := pods.Create(ctx, labelledPod(name, app)); err != nil {
			t.Fatal(err)
		}
	}
	events, err := pods.Watch(ctx, baton.MatchLabels(map[string]string{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	expectEvents(t, events, "ADDED p app=web")

	left := relabel(t, pods, "p", "db")
	got := expectEvents(t, events, "DELETED p app=web")
	if rv := got[0].Object.ResourceVersion; rv != left.ResourceVersion {
		t.Errorf("the Deleted event for leaving carries resourceVersion %s; want the change's %s", rv, left.ResourceVersion)
	}

	relabel(t, pods, "q", "web")
	expectEvents(t, events, "ADDED q app=web")
	if err := pods.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	q, _ := pods.Get(ctx, "q")
	q.Annotations = map[string]string{"touched": "yes"}
	if _, err := pods.Update(ctx, q); err != nil {
		t.Fatal(err)
	}
	// p's deletion, outside the selection, must not come between these.
	expectEvents(t, events, "MODIFIED q app=web")
	if err := pods.Delete(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, events, "DELETED q app=web")
}

// A watch resumed from the resourceVersion of the last event it delivered
// continues with nothing missed and nothing repeated.
func TestWatchResumesFromResourceVersion(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	pods := o.Pods("default")
	first, stop := context.WithCancel(ctx)
	events, err := pods.Watch(first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, labelledPod("a", "1")); err != nil {
		t.Fatal(err)
	}
	last := expectEvents(t, events, "ADDED a app=1")[0].Object.ResourceVersion
	stop()

	// Changes while nobody watches.
	relabel(t, pods, "a", "2")
	if _, err := pods.Create(ctx, labelledPod("b", "1")); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	resumed, err := pods.Watch(ctx, baton.FromResourceVersion(last))
	if err != nil {
		t.Fatal(err)
	}
	expectEvents(t, resumed, "MODIFIED a app=2", "ADDED b app=1", "DELETED a app=2")
	relabel(t, pods, "b", "3")
	expectEvents(t, resumed, "MODIFIED b app=3")
}

func TestWatchFromResourceVersionRefusesBadAndExpiredVersions(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	pods := o.Pods("default")
	for _, rv := range []string{"abc", "-1", "1.5"} {
		if _, err := pods.Watch(ctx, baton.FromResourceVersion(rv)); !errors.Is(err, baton.ErrInvalid) {
			t.Errorf("FromResourceVersion(%q): got %v, want ErrInvalid", rv, err)
		}
	}
	p, err := pods.Create(ctx, labelledPod("a", "0"))
	if err != nil {
		t.Fatal(err)
	}
	future := p.ResourceVersion + "00"
	if _, err := pods.Watch(ctx, baton.FromResourceVersion(future)); !errors.Is(err, baton.ErrInvalid) {
		t.Errorf("FromResourceVersion(%s), in the future: got %v, want ErrInvalid", future, err)
	}
	early := p.ResourceVersion
	for i := range 1100 { // more changes than Baton keeps
		relabel(t, pods, "a", fmt.Sprint(i))
	}
	if _, err := pods.Watch(ctx, baton.FromResourceVersion(early)); !errors.Is(err, baton.ErrExpired) {
		t.Errorf("resuming from a version 1,100 changes back: got %v, want ErrExpired", err)
	}
}

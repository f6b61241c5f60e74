package baton_test

import (
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// An image that is not an image reference leaves its container waiting
// with kubelet's reason, InvalidImageName, and the runtime is never asked
// to pull it; other Pods start.
func TestInvalidImageNameIsReportedAsSuch(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	for _, p := range []*baton.Pod{
		podOf("bad", "", baton.Container{Name: "app", Image: "Upper/Case:1"}),
		podOf("good", "", baton.Container{Name: "app", Image: "app"}),
	} {
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	pods := waitPods(t, o, "default", "bad waiting with InvalidImageName, good running", func(pods []*baton.Pod) bool {
		ok := 0
		for _, p := range pods {
			cs := p.Status.ContainerStatuses
			switch {
			case len(cs) != 1:
			case p.Name == "bad" && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "InvalidImageName":
				ok++
			case p.Name == "good" && cs[0].State.Running != nil:
				ok++
			}
		}
		return ok == 2
	})
	for _, p := range pods {
		if w := p.Status.ContainerStatuses[0].State.Waiting; p.Name == "bad" && !strings.Contains(w.Message, "Upper/Case:1") {
			t.Errorf("message %q does not name the image", w.Message)
		}
	}
	if n := rt.Pulls("Upper/Case:1"); n != 0 {
		t.Errorf("the runtime was asked to pull the invalid image %d times", n)
	}
}

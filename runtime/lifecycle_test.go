package runtime

import (
	"errors"
	"testing"
)

func TestCheckImageRef(t *testing.T) {
	for _, ref := range []string{"busybox", "busybox:1.36", "localhost/app:1", "localhost:5000/team/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"} {
		if err := CheckImageRef(ref); err != nil {
			t.Errorf("CheckImageRef(%q) = %v, want nil", ref, err)
		}
	}
	for _, ref := range []string{"Upper/Case", "app:", "app@sha256:short", "a//b", ":tag"} {
		var se *StartError
		if err := CheckImageRef(ref); !errors.As(err, &se) || se.Reason != ReasonInvalidImageName {
			t.Errorf("CheckImageRef(%q) = %v, want a StartError of reason InvalidImageName", ref, err)
		}
	}
}

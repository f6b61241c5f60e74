package api

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fieldPath locates a field in an object the way Kubernetes writes it:
// "spec.template.spec.containers[0].image", "metadata.labels[app]".
// The zero fieldPath is the object itself.
type fieldPath string

// Child returns the path of the field name under p.
func (p fieldPath) Child(name string) fieldPath {
	if p == "" {
		return fieldPath(name)
	}
	return p + "." + fieldPath(name)
}

// Index returns the path of element i of the list at p.
func (p fieldPath) Index(i int) fieldPath {
	return p + "[" + fieldPath(strconv.Itoa(i)) + "]"
}

// Key returns the path of the entry key of the map at p. Long or
// unprintable keys are shortened or quoted so the path stays readable.
func (p fieldPath) Key(key string) fieldPath {
	return p + "[" + fieldPath(displayKey(key)) + "]"
}

func (p fieldPath) String() string { return string(p) }

// maxDisplayKey bounds the map keys and field names echoed in paths.
const maxDisplayKey = 100

// maxDisplayValue bounds the values echoed in error details.
const maxDisplayValue = 64

// displayKey returns key as it should appear inside a path: shortened to
// maxDisplayKey runes, and quoted when it holds characters that would make
// the path ambiguous or unprintable.
func displayKey(key string) string {
	short := truncate(key, maxDisplayKey)
	if strings.ContainsAny(key, "[]\"") || !isPrintable(key) {
		return strconv.Quote(short)
	}
	return short
}

// quote returns s in double quotes, shortened to maxDisplayValue runes, for
// echoing a user's value in an error detail. Never pass it a secret.
func quote(s string) string {
	return strconv.Quote(truncate(s, maxDisplayValue))
}

// truncate shortens s to at most n runes, marking the cut with "...".
// It never splits a UTF-8 sequence.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i] + "..."
		}
		count++
	}
	return s
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

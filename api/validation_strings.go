package api

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file holds the string formats Kubernetes gives names, labels and
// ports, and the details Baton reports when a value breaks one. Each check
// returns "" when s is valid, else a detail for a FieldError.

const (
	dns1123LabelMaxLength     = 63
	dns1123SubdomainMaxLength = 253
	dns1035LabelMaxLength     = 63
	labelValueMaxLength       = 63
	qualifiedNameMaxLength    = 63
	portNameMaxLength         = 15
	// generatedSuffixLength is the length of the random suffix Baton
	// appends to a generateName prefix.
	generatedSuffixLength = 5
	// totalAnnotationSizeLimit bounds the bytes of all annotation keys and
	// values of one object, as in Kubernetes.
	totalAnnotationSizeLimit = 256 * 1024
)

var (
	dns1123LabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	dns1035LabelRE     = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	qualifiedNameRE    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRE       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	portNameRE         = regexp.MustCompile(`^[-a-z0-9]+$`)
	envVarNameRE       = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	percentRE          = regexp.MustCompile(`^[0-9]+%$`)
)

// Details for the formats, saying what is allowed.
const (
	dns1123LabelDetail = "must be a DNS-1123 label: lower-case letters, digits and '-', " +
		"starting and ending with a letter or digit, at most 63 characters"
	dns1123SubdomainDetail = "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', " +
		"starting and ending with a letter or digit, at most 253 characters"
	dns1035LabelDetail = "must be a DNS-1035 label: lower-case letters, digits and '-', " +
		"starting with a letter and ending with a letter or digit, at most 63 characters"
	qualifiedNameDetail = "must be a name of at most 63 letters, digits, '-', '_' and '.', " +
		"starting and ending with a letter or digit, with an optional DNS-1123 subdomain prefix " +
		"and '/', such as \"app\" or \"example.com/app\""
	labelValueDetail = "must be empty or at most 63 letters, digits, '-', '_' and '.', " +
		"starting and ending with a letter or digit"
	portNameDetail = "must be an IANA service name: at most 15 lower-case letters, digits and '-', " +
		"with at least one letter, not starting or ending with '-' and without '--'"
	envVarNameDetail = "must consist of letters, digits, '_', '-' and '.', and must not start with a digit"
)

// nameCheck validates the name (or, with prefix set, the generateName
// prefix) of one kind of object.
type nameCheck func(name string, prefix bool) string

func checkDNS1123Label(s string, prefix bool) string {
	return checkName(s, prefix, dns1123LabelRE, dns1123LabelMaxLength, dns1123LabelDetail)
}

func checkDNS1123Subdomain(s string, prefix bool) string {
	return checkName(s, prefix, dns1123SubdomainRE, dns1123SubdomainMaxLength, dns1123SubdomainDetail)
}

func checkDNS1035Label(s string, prefix bool) string {
	return checkName(s, prefix, dns1035LabelRE, dns1035LabelMaxLength, dns1035LabelDetail)
}

// checkName checks s against re and maxLen. A generateName prefix may end
// in '-' and must leave room for the generated suffix.
func checkName(s string, prefix bool, re *regexp.Regexp, maxLen int, detail string) string {
	if prefix {
		if len(s) > maxLen-generatedSuffixLength {
			return fmt.Sprintf("must be at most %d characters, leaving room for the %d-character suffix Baton appends",
				maxLen-generatedSuffixLength, generatedSuffixLength)
		}
		if strings.HasSuffix(s, "-") {
			s = strings.TrimSuffix(s, "-") + "a"
		}
		if !re.MatchString(s) {
			return "must start a valid name once Baton appends a " +
				strconv.Itoa(generatedSuffixLength) + "-character suffix, and the name " + detail
		}
		return ""
	}
	if len(s) > maxLen || !re.MatchString(s) {
		return detail
	}
	return ""
}

// checkQualifiedName checks a label or annotation key: an optional DNS-1123
// subdomain prefix and '/', then a name of at most 63 characters.
func checkQualifiedName(s string) string {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name = prefix
	} else if prefix == "" || len(prefix) > dns1123SubdomainMaxLength || !dns1123SubdomainRE.MatchString(prefix) {
		return qualifiedNameDetail
	}
	if len(name) > qualifiedNameMaxLength || !qualifiedNameRE.MatchString(name) {
		return qualifiedNameDetail
	}
	return ""
}

// checkLabelValue checks a label value, which may be empty.
func checkLabelValue(s string) string {
	if len(s) > labelValueMaxLength || !labelValueRE.MatchString(s) {
		return labelValueDetail
	}
	return ""
}

// checkPortName checks an IANA_SVC_NAME, as container port names and named
// target ports must be.
func checkPortName(s string) string {
	if len(s) > portNameMaxLength || !portNameRE.MatchString(s) ||
		!strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") ||
		strings.Contains(s, "--") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return portNameDetail
	}
	return ""
}

// checkEnvVarName checks an environment variable name.
func checkEnvVarName(s string) string {
	if !envVarNameRE.MatchString(s) {
		return envVarNameDetail
	}
	return ""
}

// ValidEnvVarName reports whether s may name an environment variable, as
// Kubernetes decides: letters, digits, '_', '-' and '.', not starting with a
// digit.
func ValidEnvVarName(s string) bool { return checkEnvVarName(s) == "" }

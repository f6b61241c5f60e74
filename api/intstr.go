package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// IntOrString holds either an integer or a string, as a Service's
// targetPort ("http" or 8080) or a rollout's maxSurge ("25%" or 1) does.
type IntOrString struct {
	// IsString says which field holds the value.
	IsString bool
	IntVal   int32
	StrVal   string
}

// FromInt returns an IntOrString holding i.
func FromInt(i int32) IntOrString { return IntOrString{IntVal: i} }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{IsString: true, StrVal: s} }

// String returns the value as text.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// MarshalJSON encodes a number or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

// UnmarshalJSON decodes a number or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString, v.IntVal = true, 0
		return json.Unmarshal(b, &v.StrVal)
	}
	v.IsString, v.StrVal = false, ""
	return json.Unmarshal(b, &v.IntVal)
}

// ScaledValue resolves v against total (at most math.MaxInt32): an integer
// is returned as is, a percentage such as "25%" is that share of total,
// exactly, rounded up when roundUp is set and down otherwise. A percentage
// must fit in an int32, as validation requires.
func (v IntOrString) ScaledValue(total int, roundUp bool) (int, error) {
	if !v.IsString {
		return int(v.IntVal), nil
	}
	percent, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok {
		return 0, fmt.Errorf("%q must be an integer or a percentage such as \"25%%\"", v.StrVal)
	}
	p, err := strconv.ParseInt(percent, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q must be an integer or a percentage such as \"25%%\", at most 2147483647%%", v.StrVal)
	}
	// Both factors fit in 32 bits, so the product fits in 64.
	q, r := p*int64(total)/100, p*int64(total)%100
	if roundUp && r > 0 {
		q++
	}
	if !roundUp && r < 0 {
		q--
	}
	return int(q), nil
}

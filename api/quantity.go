package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity is a fixed-point amount such as "250m" CPU or "128Mi" memory,
// written as Kubernetes writes resource quantities: a decimal number and an
// optional suffix — m, k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti,
// Pi, Ei (powers of 1024) or an exponent like e3.
//
// Baton keeps the value in thousandths (MilliValue), rounding a finer value
// up as Kubernetes does, and remembers the text it was written as so that a
// manifest round-trips unchanged. The zero Quantity is zero.
type Quantity struct {
	milli int64
	text  string
}

type quantitySuffix struct {
	text       string
	multiplier *big.Rat
}

// quantitySuffixes is ordered so that longer suffixes are tried first.
var quantitySuffixes = func() []quantitySuffix {
	pow := func(base, exp int64) *big.Rat {
		return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil))
	}
	return []quantitySuffix{
		{"Ki", pow(1024, 1)}, {"Mi", pow(1024, 2)}, {"Gi", pow(1024, 3)},
		{"Ti", pow(1024, 4)}, {"Pi", pow(1024, 5)}, {"Ei", pow(1024, 6)},
		{"m", big.NewRat(1, 1000)}, {"k", pow(1000, 1)}, {"M", pow(1000, 2)},
		{"G", pow(1000, 3)}, {"T", pow(1000, 4)}, {"P", pow(1000, 5)}, {"E", pow(1000, 6)},
	}
}()

// ParseQuantity parses s, such as "500m", "2", "1.5Gi" or "1e3".
func ParseQuantity(s string) (Quantity, error) {
	if s == "" {
		return Quantity{}, fmt.Errorf("quantity is empty")
	}
	number, multiplier := s, big.NewRat(1, 1)
	for _, suffix := range quantitySuffixes {
		if strings.HasSuffix(s, suffix.text) {
			number, multiplier = strings.TrimSuffix(s, suffix.text), suffix.multiplier
			break
		}
	}
	if i := strings.IndexAny(number, "eE"); i > 0 && multiplier.Cmp(big.NewRat(1, 1)) == 0 {
		exp, err := strconv.Atoi(number[i+1:])
		if err != nil || exp < -18 || exp > 18 {
			return Quantity{}, fmt.Errorf("quantity %q has a bad exponent", s)
		}
		number = number[:i]
		ten := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
		multiplier = new(big.Rat).SetInt(ten)
		if exp < 0 {
			multiplier.Inv(multiplier)
		}
	}
	if !isDecimal(number) {
		return Quantity{}, fmt.Errorf("quantity %q must be a decimal number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)", s)
	}
	value, ok := new(big.Rat).SetString(number)
	if !ok {
		return Quantity{}, fmt.Errorf("quantity %q is not a number", s)
	}
	value.Mul(value, multiplier)
	value.Mul(value, big.NewRat(1000, 1))
	milli := new(big.Int).Quo(value.Num(), value.Denom())
	if new(big.Rat).SetInt(milli).Cmp(value) < 0 {
		milli.Add(milli, big.NewInt(1)) // round up, as Kubernetes does
	}
	if !milli.IsInt64() {
		return Quantity{}, fmt.Errorf("quantity %q is too large", s)
	}
	return Quantity{milli: milli.Int64(), text: s}, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// isDecimal reports whether s is an optionally signed decimal number.
func isDecimal(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// MustParseQuantity is ParseQuantity for constants in code; it panics on a
// malformed string, so never pass it user input.
func MustParseQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// NewMilliQuantity returns a quantity of milli thousandths, such as CPU
// millicores.
func NewMilliQuantity(milli int64) Quantity { return Quantity{milli: milli} }

// NewQuantity returns a quantity of whole units, such as bytes or pods.
func NewQuantity(value int64) Quantity {
	if value > math.MaxInt64/1000 || value < math.MinInt64/1000 {
		return Quantity{milli: math.MaxInt64}
	}
	return Quantity{milli: value * 1000}
}

// MilliValue returns the quantity in thousandths.
func (q Quantity) MilliValue() int64 { return q.milli }

// Value returns the quantity in whole units, rounded up.
func (q Quantity) Value() int64 {
	if q.milli >= 0 {
		return (q.milli + 999) / 1000
	}
	return q.milli / 1000
}

// IsZero reports whether the quantity is zero.
func (q Quantity) IsZero() bool { return q.milli == 0 }

// Cmp returns -1, 0 or 1 as q is less than, equal to or greater than other.
func (q Quantity) Cmp(other Quantity) int {
	switch {
	case q.milli < other.milli:
		return -1
	case q.milli > other.milli:
		return 1
	}
	return 0
}

// Equal reports whether q and other are the same amount, however written.
func (q Quantity) Equal(other Quantity) bool { return q.milli == other.milli }

// String returns the text the quantity was parsed from or, for a computed
// quantity, a canonical form: whole units with a binary suffix when exact
// ("128Mi"), else whole units ("3"), else thousandths ("250m").
func (q Quantity) String() string {
	if q.text != "" {
		return q.text
	}
	if q.milli%1000 != 0 {
		return strconv.FormatInt(q.milli, 10) + "m"
	}
	value := q.milli / 1000
	for _, suffix := range []string{"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"} {
		unit := int64(1) << (10 * (strings.Index("KMGTPE", suffix[:1]) + 1))
		if value != 0 && value%unit == 0 && value >= unit*4 {
			return strconv.FormatInt(value/unit, 10) + suffix
		}
	}
	return strconv.FormatInt(value, 10)
}

// MarshalJSON encodes the quantity as a string.
func (q Quantity) MarshalJSON() ([]byte, error) { return json.Marshal(q.String()) }

// UnmarshalJSON accepts a string such as "500m" or a bare JSON number; null
// leaves q unchanged, as the encoding/json convention asks.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	text := string(b)
	if text == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	parsed, err := ParseQuantity(strings.TrimSpace(text))
	if err != nil {
		return err
	}
	*q = parsed
	return nil
}

// ResourceName names a resource: cpu, memory or pods.
type ResourceName string

// Resources Baton accounts for.
const (
	ResourceCPU    ResourceName = "cpu"
	ResourceMemory ResourceName = "memory"
	ResourcePods   ResourceName = "pods"
)

// ResourceList maps resource names to amounts.
type ResourceList map[ResourceName]Quantity

// DeepCopy returns a copy of l; Quantity values are immutable.
func (l ResourceList) DeepCopy() ResourceList {
	if l == nil {
		return nil
	}
	out := make(ResourceList, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

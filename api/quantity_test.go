package api

import (
	"encoding/json"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in    string
		milli int64
		value int64
	}{
		{"0", 0, 0},
		{"1", 1000, 1},
		{"0.1", 100, 1},
		{"100m", 100, 1},
		{"250m", 250, 1},
		{"1.5", 1500, 2},
		{"1.5Gi", 1536 << 20 * 1000, 1536 << 20},
		{"128Mi", 128 << 20 * 1000, 128 << 20},
		{"1Ki", 1024 * 1000, 1024},
		{"1k", 1000 * 1000, 1000},
		{"2M", 2e6 * 1000, 2e6},
		{"1G", 1e9 * 1000, 1e9},
		{"1e3", 1e3 * 1000, 1e3},
		{"1E3", 1e3 * 1000, 1e3},
		{"5e-3", 5, 1},
		{"0.0001", 1, 1}, // rounded up to one thousandth
		{"-1", -1000, -1},
		{"+2", 2000, 2},
		{".5", 500, 1},
	}
	for _, tt := range tests {
		q, err := ParseQuantity(tt.in)
		if err != nil {
			t.Errorf("ParseQuantity(%q): %v", tt.in, err)
			continue
		}
		if q.MilliValue() != tt.milli || q.Value() != tt.value {
			t.Errorf("ParseQuantity(%q) = %d milli, %d value; want %d, %d", tt.in, q.MilliValue(), q.Value(), tt.milli, tt.value)
		}
		if q.String() != tt.in {
			t.Errorf("ParseQuantity(%q).String() = %q", tt.in, q.String())
		}
	}
}

func TestParseQuantityErrors(t *testing.T) {
	for _, in := range []string{"", "abc", "1.2.3", "1kb", "1 Gi", "Gi", "1e", "1e99", "e3", "1ki", "--1", "1e3Mi", "99999999999999999999", "0x10"} {
		if q, err := ParseQuantity(in); err == nil {
			t.Errorf("ParseQuantity(%q) = %v, want an error", in, q)
		}
	}
}

func TestQuantityString(t *testing.T) {
	tests := []struct {
		q    Quantity
		want string
	}{
		{NewMilliQuantity(250), "250m"},
		{NewMilliQuantity(1500), "1500m"},
		{NewQuantity(3), "3"},
		{NewQuantity(0), "0"},
		{NewQuantity(128 << 20), "128Mi"},
		{NewQuantity(4 << 30), "4Gi"},
		{NewQuantity(1 << 30), "1024Mi"}, // a binary suffix is used from 4 units up
		{NewQuantity(4096), "4Ki"},
		{NewQuantity(1024), "1024"},
		{MustParseQuantity("0.5"), "0.5"},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestQuantityJSON(t *testing.T) {
	var q Quantity
	if err := json.Unmarshal([]byte(`"500m"`), &q); err != nil || q.MilliValue() != 500 {
		t.Errorf("unmarshal string: %v, %v", q, err)
	}
	if err := json.Unmarshal([]byte(`2`), &q); err != nil || q.MilliValue() != 2000 {
		t.Errorf("unmarshal number: %v, %v", q, err)
	}
	if err := json.Unmarshal([]byte(`"lots"`), &q); err == nil {
		t.Error("unmarshal bad string succeeded")
	}
	b, err := json.Marshal(MustParseQuantity("1.5Gi"))
	if err != nil || string(b) != `"1.5Gi"` {
		t.Errorf("marshal = %s, %v", b, err)
	}
	if MustParseQuantity("1").Cmp(MustParseQuantity("1000m")) != 0 || !MustParseQuantity("1").Equal(MustParseQuantity("1000m")) {
		t.Error("1 and 1000m differ")
	}
	if MustParseQuantity("1").Cmp(MustParseQuantity("2")) != -1 || MustParseQuantity("2").Cmp(MustParseQuantity("1")) != 1 {
		t.Error("Cmp is wrong")
	}
}

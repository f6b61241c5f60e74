package api

import (
	"encoding/json"
	"testing"
)

func TestIntOrStringScaledValue(t *testing.T) {
	tests := []struct {
		v       IntOrString
		total   int
		roundUp bool
		want    int
		wantErr bool
	}{
		{v: FromInt(3), total: 10, want: 3},
		{v: FromInt(3), total: 10, roundUp: true, want: 3},
		{v: FromString("25%"), total: 10, want: 2},
		{v: FromString("25%"), total: 10, roundUp: true, want: 3},
		{v: FromString("25%"), total: 4, want: 1},
		{v: FromString("0%"), total: 10, roundUp: true, want: 0},
		{v: FromString("100%"), total: 7, want: 7},
		{v: FromString("150%"), total: 2, want: 3},
		{v: FromString("25%"), total: 0, roundUp: true, want: 0},
		{v: FromString("25"), total: 10, wantErr: true},
		{v: FromString("%"), total: 10, wantErr: true},
		{v: FromString("a%"), total: 10, wantErr: true},
		{v: FromString(""), total: 10, wantErr: true},
		{v: FromString("99%"), total: 2000000000, want: 1980000000},
		{v: FromString("2147483647%"), total: 2147483647, roundUp: true, want: 46116860141324207},
		{v: FromString("2147483648%"), total: 10, wantErr: true},
	}
	for _, tt := range tests {
		got, err := tt.v.ScaledValue(tt.total, tt.roundUp)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%v.ScaledValue(%d, %v) = %d, %v; want %d, error %v", tt.v, tt.total, tt.roundUp, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestIntOrStringJSON(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want IntOrString
	}{
		{`8080`, FromInt(8080)},
		{`"http"`, FromString("http")},
		{`"25%"`, FromString("25%")},
	} {
		var v IntOrString
		if err := json.Unmarshal([]byte(tt.in), &v); err != nil || v != tt.want {
			t.Errorf("Unmarshal(%s) = %#v, %v", tt.in, v, err)
		}
		b, err := json.Marshal(v)
		if err != nil || string(b) != tt.in {
			t.Errorf("Marshal(%#v) = %s, %v", v, b, err)
		}
	}
}

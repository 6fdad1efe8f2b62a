package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseCompare(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string // substring; "" means accepted
	}{
		{"defaults", nil, ""},
		{"all set", []string{"--loops", "10", "--rounds", "1", "--interval", "500us", "--priority", "80", "--cpu", "0", "--out", "x"}, ""},
		{"loops 0", []string{"--loops", "0"}, "--loops 0: want at least 1"},
		{"rounds 0", []string{"--rounds=0"}, "--rounds 0: want at least 1"},
		{"interval 0", []string{"--interval", "0"}, "--interval 0: want"},
		{"interval 0s", []string{"--interval", "0s"}, "--interval 0: want"},
		{"priority 0", []string{"--priority", "0"}, "--priority 0: want 1–99"},
		{"zero after others", []string{"--loops", "5", "--rounds", "0"}, "--rounds 0"},
		{"out empty", []string{"--out", ""}, "--out: want a directory"},
		{"positional", []string{"extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--bogus"}, "bad flags"},
		{"not a number", []string{"--loops", "x"}, "bad flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseCompare(tt.args, io.Discard, io.Discard)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if o.Loops <= 0 || o.Rounds <= 0 || o.Interval <= 0 || o.Priority <= 0 {
					t.Errorf("accepted options hold a zero: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if tt.err == "bad flags" != errors.Is(err, errFlags) {
				t.Errorf("errFlags marks %v wrongly", err)
			}
		})
	}
	o, _, err := parseCompare([]string{"--loops", "7", "--interval", "2ms", "--out", "d"}, io.Discard, io.Discard)
	if err != nil || o.Loops != 7 || o.Interval != 2*time.Millisecond || o.Out != "d" || o.Rounds != 3 || o.Priority != 90 {
		t.Errorf("parsed %+v, %v", o, err)
	}
}

package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTraceRejects(t *testing.T) {
	for _, tc := range []struct {
		name, src, want, msg string
	}{
		{"threshold missing", okTask + "[trace]\naction = \"stop\"\n", "4: trace", "threshold missing"},
		{"threshold zero", okTask + "[trace]\nthreshold = \"0s\"\n", "5: trace.threshold", "0s is not positive"},
		{"threshold negative", okTask + "[trace]\nthreshold = \"-5us\"\n", "5: trace.threshold", "-5us is not positive"},
		{"threshold word", okTask + "[trace]\nthreshold = \"soon\"\n", "5: trace.threshold", `"soon" is not a duration`},
		{"threshold integer", okTask + "[trace]\nthreshold = 150\n", "5: trace.threshold", "150 is an integer, want a duration string"},
		{"action halt", okTask + "[trace]\nthreshold = \"150us\"\naction = \"halt\"\n", "6: trace.action", `"halt" is not allowed (use stop | continue)`},
		{"buffer zero", okTask + "[trace]\nthreshold = \"150us\"\nbuffer_kb = 0\n", "6: trace.buffer_kb", "0 is outside 1–1048576"},
		{"buffer huge", okTask + "[trace]\nthreshold = \"150us\"\nbuffer_kb = 9999999\n", "6: trace.buffer_kb", "outside 1–1048576"},
		{"buffer string", okTask + "[trace]\nthreshold = \"150us\"\nbuffer_kb = \"4M\"\n", "6: trace.buffer_kb", `"4M" is a string, want an integer`},
		{"unknown key", okTask + "[trace]\nthreshold = \"150us\"\nthreshhold = \"1ms\"\n", "6: trace.threshhold", "did you mean threshold?"},
		{"not a table", "trace = 5\n" + okTask, "1: trace", "want a table [trace]"},
		{"report trace empty", okTask + "[report]\ntrace = \"\"\n", "5: report.trace", "path is empty"},
		{"report trace is json", okTask + "[report]\njson = \"r.json\"\ntrace = \"r.json\"\n", "6: report.trace", "is also report.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bad.toml", []byte(tc.src), twoCPUs)
			if err == nil {
				t.Fatalf("accepted: %+v", cfg.Trace)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if want := "bad.toml:" + tc.want + ": "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q: want %q and %q", err, want, tc.msg)
			}
		})
	}
}

func TestTraceParse(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      Trace
		file      string
	}{
		{"none", okTask, Trace{}, DefaultTraceFile},
		{"defaults", okTask + "[trace]\nthreshold = \"150us\"\n[report]\njson = \"out/run.json\"\n",
			Trace{Threshold: 150 * time.Microsecond, Action: TraceStop}, "out/run.trace.txt"},
		{"all", okTask + "[trace]\nthreshold = \"1.5ms\"\naction = \"continue\"\nbuffer_kb = 2048\n[report]\ntrace = \"t.txt\"\njson = \"r.json\"\n",
			Trace{Threshold: 1500 * time.Microsecond, Action: TraceContinue, BufferKB: 2048}, "t.txt"},
		{"json without suffix", okTask + "[trace]\nthreshold = \"1ms\"\n[report]\njson = \"report\"\n",
			Trace{Threshold: time.Millisecond, Action: TraceStop}, "report.trace.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("ok.toml", []byte(tc.src), twoCPUs)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Trace != tc.want || cfg.TraceFile() != tc.file {
				t.Errorf("trace %+v file %q, want %+v %q", cfg.Trace, cfg.TraceFile(), tc.want, tc.file)
			}
		})
	}
}

func TestApplyTraceThreshold(t *testing.T) {
	cfg, err := Parse("ok.toml", []byte(okTask), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyTraceThreshold("--trace-threshold", 0); err != nil || cfg.Trace.Threshold != 0 {
		t.Errorf("zero: %v, %+v; want nothing armed", err, cfg.Trace)
	}
	err = cfg.ApplyTraceThreshold("--trace-threshold", -time.Microsecond)
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "--trace-threshold: ") {
		t.Errorf("negative: error %v, want one naming the flag", err)
	}
	if err := cfg.ApplyTraceThreshold("--trace-threshold", 200*time.Microsecond); err != nil || cfg.Trace != (Trace{Threshold: 200 * time.Microsecond, Action: TraceStop}) {
		t.Errorf("200us: %v, %+v", err, cfg.Trace)
	}
	// The flag keeps the config's action and buffer.
	cfg, err = Parse("ok.toml", []byte(okTask+"[trace]\nthreshold = \"1ms\"\naction = \"continue\"\nbuffer_kb = 64\n"), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyTraceThreshold("--trace-threshold", 3*time.Millisecond); err != nil || cfg.Trace != (Trace{Threshold: 3 * time.Millisecond, Action: TraceContinue, BufferKB: 64}) {
		t.Errorf("over the config: %v, %+v", err, cfg.Trace)
	}
}

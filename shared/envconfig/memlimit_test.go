package envconfig

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name, memoryMB, goMemLimit string
		want                       int64
		source                     string
		wantErr                    bool
	}{
		{"lambda 256 MB", "256", "", 241591910, limitFromLambda, false}, // 0.9 × 256 MiB
		{"lambda 128 MB", "128", "", 120795955, limitFromLambda, false},
		{"lambda 1769 MB", " 1769 ", "", 1669437849, limitFromLambda, false},
		{"GOMEMLIMIT wins", "256", "100MiB", 0, limitFromGOMEMLIMIT, false},
		{"GOMEMLIMIT off wins", "256", "off", 0, limitFromGOMEMLIMIT, false},
		{"outside Lambda", "", "", 0, limitNone, false},
		{"blank GOMEMLIMIT is unset", "512", " ", 483183820, limitFromLambda, false},
		{"not a number", "lots", "", 0, limitNone, true},
		{"zero", "0", "", 0, limitNone, true},
		{"negative", "-256", "", 0, limitNone, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, source, err := memoryLimit(tc.memoryMB, tc.goMemLimit)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want || source != tc.source {
				t.Errorf("memoryLimit(%q, %q) = %d, %s; want %d, %s", tc.memoryMB, tc.goMemLimit, got, source, tc.want, tc.source)
			}
		})
	}
}

// SetMemoryLimit applies the limit and logs the one in force.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	tests := []struct {
		name, memoryMB string
		want           int64
		source         string
	}{
		{"from the memory size", "256", 241591910, limitFromLambda},
		{"unreadable size leaves the limit", "lots", math.MaxInt64, limitNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", tc.memoryMB)
			t.Setenv("GOMEMLIMIT", "")
			var buf bytes.Buffer
			SetMemoryLimit(slog.New(slog.NewJSONHandler(&buf, nil)))
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("limit = %d, want %d", got, tc.want)
			}
			var line struct {
				Msg        string `json:"msg"`
				GoMemLimit int64  `json:"gomemlimit"`
				Source     string `json:"gomemlimitSource"`
			}
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if err := json.Unmarshal(lines[len(lines)-1], &line); err != nil {
				t.Fatal(err)
			}
			if line.Msg != "memory limit" || line.GoMemLimit != tc.want || line.Source != tc.source {
				t.Errorf("log line %+v, want limit %d from %s", line, tc.want, tc.source)
			}
		})
	}
}

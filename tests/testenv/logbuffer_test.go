package testenv

import (
	"log/slog"
	"testing"
)

// The scanned text keeps every field of a line but its time, whose nanoseconds could hold a code.
func TestLogBufferLeavesOutTheTime(t *testing.T) {
	var b LogBuffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("otp stored", "trackingId", "T1")
	_, _ = b.Write([]byte("not a slog line: \"time\":\"100639\"\n"))
	want := `{"level":"INFO","msg":"otp stored","trackingId":"T1"}` + "\n" + "not a slog line: \"time\":\"100639\"\n"
	if got := b.String(); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

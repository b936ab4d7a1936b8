package testenv

import (
	"bytes"
	"regexp"
	"sync"
)

// LogBuffer collects log output from concurrent writers, so tests can scan everything a run logged.
// It leaves out each slog line's leading "time": its nanoseconds hold any 6-digit number by chance
// now and then, and the scans look for 6-digit OTP codes.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var leadingTime = regexp.MustCompile(`^\{"time":"[^"]*",`)

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if loc := leadingTime.FindIndex(p); loc != nil {
		b.buf.WriteByte('{')
		_, err := b.buf.Write(p[loc[1]:])
		return len(p), err
	}
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

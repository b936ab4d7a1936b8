package envconfig

import (
	"strings"
	"testing"
	"time"
)

func TestReaders(t *testing.T) {
	t.Setenv("X_SET", " v ")
	t.Setenv("X_EMPTY", "  ")
	if v, err := Required("X_SET"); v != "v" || err != nil {
		t.Errorf("Required = %q, %v", v, err)
	}
	if _, err := Required("X_EMPTY"); err == nil || !strings.Contains(err.Error(), "X_EMPTY") {
		t.Errorf("Required(empty) err = %v", err)
	}

	tests := []struct {
		value   string
		read    func() (any, error)
		want    any
		wantErr bool
	}{
		{"", func() (any, error) { return Duration("X", time.Minute) }, time.Minute, false},
		{"90s", func() (any, error) { return Duration("X", time.Minute) }, 90 * time.Second, false},
		{"-1s", func() (any, error) { return Duration("X", time.Minute) }, nil, true},
		{"soon", func() (any, error) { return Duration("X", time.Minute) }, nil, true},
		{"", func() (any, error) { return PositiveInt("X", 7) }, 7, false},
		{"42", func() (any, error) { return PositiveInt("X", 7) }, 42, false},
		{"0", func() (any, error) { return PositiveInt("X", 7) }, nil, true},
		{"1e3", func() (any, error) { return PositiveInt("X", 7) }, nil, true},
		{"", func() (any, error) { return Bool("X", true) }, true, false},
		{"FALSE", func() (any, error) { return Bool("X", true) }, false, false},
		{"yes", func() (any, error) { return Bool("X", true) }, nil, true},
	}
	for _, tc := range tests {
		t.Setenv("X", tc.value)
		got, err := tc.read()
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "X") {
				t.Errorf("%q: err = %v, want one naming X", tc.value, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}

	t.Setenv("X", " a, ,b ,")
	if got := List("X"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("List = %q", got)
	}
}

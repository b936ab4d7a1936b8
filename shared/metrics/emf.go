// Package metrics writes CloudWatch Embedded Metric Format (EMF) objects, one JSON line each, and
// holds the gateway's metric contract: one object per delivery, by webhook, outcome and reason
// (delivery.go), which is also the delivery's "delivery answered" log line. CloudWatch Logs
// extracts the metrics from the function's log stream, so writing them needs no AWS call and no
// cloudwatch:PutMetricData permission.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"strings"
	"sync"
	"time"
)

// Unit is a CloudWatch unit; EMF accepts only these (the specification's schema).
type Unit string

// The units EMF accepts.
const (
	Seconds        Unit = "Seconds"
	Microseconds   Unit = "Microseconds"
	Milliseconds   Unit = "Milliseconds"
	Bytes          Unit = "Bytes"
	Kilobytes      Unit = "Kilobytes"
	Megabytes      Unit = "Megabytes"
	Gigabytes      Unit = "Gigabytes"
	Terabytes      Unit = "Terabytes"
	Bits           Unit = "Bits"
	Kilobits       Unit = "Kilobits"
	Megabits       Unit = "Megabits"
	Gigabits       Unit = "Gigabits"
	Terabits       Unit = "Terabits"
	Percent        Unit = "Percent"
	Count          Unit = "Count"
	BytesPerSecond Unit = "Bytes/Second"
	KBPerSecond    Unit = "Kilobytes/Second"
	MBPerSecond    Unit = "Megabytes/Second"
	GBPerSecond    Unit = "Gigabytes/Second"
	TBPerSecond    Unit = "Terabytes/Second"
	BitsPerSecond  Unit = "Bits/Second"
	KbitsPerSecond Unit = "Kilobits/Second"
	MbitsPerSecond Unit = "Megabits/Second"
	GbitsPerSecond Unit = "Gigabits/Second"
	TbitsPerSecond Unit = "Terabits/Second"
	CountPerSecond Unit = "Count/Second"
	None           Unit = "None"
)

var validUnits = map[Unit]bool{
	Seconds: true, Microseconds: true, Milliseconds: true, Bytes: true, Kilobytes: true, Megabytes: true,
	Gigabytes: true, Terabytes: true, Bits: true, Kilobits: true, Megabits: true, Gigabits: true,
	Terabits: true, Percent: true, Count: true, BytesPerSecond: true, KBPerSecond: true, MBPerSecond: true,
	GBPerSecond: true, TBPerSecond: true, BitsPerSecond: true, KbitsPerSecond: true, MbitsPerSecond: true,
	GbitsPerSecond: true, TbitsPerSecond: true, CountPerSecond: true, None: true,
}

// Limits of the specification and of CloudWatch (the official client libraries' constants).
const (
	MaxMetrics          = 100 // metric definitions per directive
	MaxValues           = 100 // values in one metric's array
	MaxDimensionSetSize = 30  // keys in one dimension set
	maxNamespace        = 256
	maxDimensionName    = 250
	maxDimensionValue   = 1024
	maxMetricName       = 1024
	// MaxBytes keeps an object below the smallest documented CloudWatch Logs event size.
	MaxBytes = 256 << 10
)

// validNamespace: ^[a-zA-Z0-9._#:/-]+$, checked without a regexp (once per EMF line).
func validNamespace(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._#:/-", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// Metric is one metric definition; its value is the root member of the same name.
type Metric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// Directive is one MetricDirective: every metric is published under every dimension set. Each
// dimension set is a separate, billed custom metric per combination of its values.
type Directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []Metric   `json:"Metrics"`
}

// Object is one EMF log event. Members holds the metric values (a finite number or a slice of
// them), the dimension values (strings) and any other property, all at the root.
type Object struct {
	Timestamp  time.Time
	Directives []Directive
	Members    map[string]any
}

// ErrInvalid wraps every reason an Object is not valid EMF.
var ErrInvalid = errors.New("metrics: invalid EMF object")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks o against the EMF specification.
func (o Object) Validate() error {
	if o.Timestamp.IsZero() || o.Timestamp.UnixMilli() < 0 {
		return invalid("timestamp %v", o.Timestamp)
	}
	if len(o.Directives) == 0 {
		return invalid("no metric directive")
	}
	if _, ok := o.Members["_aws"]; ok {
		return invalid("member _aws is reserved")
	}
	for _, d := range o.Directives {
		if len(d.Namespace) > maxNamespace || !validNamespace(d.Namespace) {
			return invalid("namespace %q", d.Namespace)
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > MaxMetrics {
			return invalid("%d metrics in a directive, want 1 to %d", len(d.Metrics), MaxMetrics)
		}
		seen := map[string]bool{}
		for _, m := range d.Metrics {
			if m.Name == "" || len(m.Name) > maxMetricName || seen[m.Name] {
				return invalid("metric name %q empty, too long or repeated", m.Name)
			}
			seen[m.Name] = true
			if m.Unit != "" && !validUnits[m.Unit] {
				return invalid("metric %q: unit %q", m.Name, m.Unit)
			}
			if err := checkValue(m.Name, o.Members[m.Name]); err != nil {
				return err
			}
		}
		if d.Dimensions == nil {
			return invalid("no dimension sets (use [[]] for none)")
		}
		for _, set := range d.Dimensions {
			if len(set) > MaxDimensionSetSize {
				return invalid("%d dimensions in a set, want at most %d", len(set), MaxDimensionSetSize)
			}
			keys := map[string]bool{}
			for _, k := range set {
				if keys[k] || k == "" || len(k) > maxDimensionName || k[0] == ':' || !isASCII(k) {
					return invalid("dimension name %q empty, too long, not ASCII, repeated or starting with ':'", k)
				}
				keys[k] = true
				v, ok := o.Members[k].(string)
				if !ok || v == "" || len(v) > maxDimensionValue || !isASCII(v) {
					return invalid("dimension %q: value %#v is not a non-empty ASCII string of at most %d characters", k, o.Members[k], maxDimensionValue)
				}
			}
		}
	}
	return nil
}

// checkValue: a metric's target is a finite number or an array of at most MaxValues of them.
func checkValue(name string, v any) error {
	finite := func(f float64) error {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return invalid("metric %q: value %v is not finite", name, f)
		}
		return nil
	}
	switch x := v.(type) {
	case int:
		return nil
	case int64:
		return nil
	case float64:
		return finite(x)
	case []float64:
		if len(x) == 0 || len(x) > MaxValues {
			return invalid("metric %q: %d values, want 1 to %d", name, len(x), MaxValues)
		}
		for _, f := range x {
			if err := finite(f); err != nil {
				return err
			}
		}
		return nil
	case nil:
		return invalid("metric %q has no member", name)
	default:
		return invalid("metric %q: value of type %T", name, v)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// MarshalJSON encodes o as EMF after validating it: its members and "_aws" as one JSON object,
// as json.Marshal encodes a map (keys sorted, HTML-safe escaping).
func (o Object) MarshalJSON() ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	root := make(map[string]any, len(o.Members)+1)
	maps.Copy(root, o.Members)
	root["_aws"] = awsMember{o.Timestamp.UnixMilli(), o.Directives} // Validate refuses a member of that name
	b, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(b) > MaxBytes {
		return nil, invalid("%d bytes, want at most %d", len(b), MaxBytes)
	}
	return b, nil
}

// awsMember is the "_aws" member of an EMF object.
type awsMember struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []Directive `json:"CloudWatchMetrics"`
}

// Writer writes objects to an output, typically the function's stdout, one line each.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes o as one line, in one Write call so that it does not interleave with the log
// lines that share the output; an invalid o writes nothing.
func (w *Writer) Write(o Object) error {
	b, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(append(b, '\n'))
	return err
}

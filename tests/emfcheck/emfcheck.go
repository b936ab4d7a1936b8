// Package emfcheck checks a log line against the CloudWatch Embedded Metric Format specification,
// independently of the writer in package metrics: tests of every layer use it on the lines the
// functions really write.
package emfcheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

var units = map[string]bool{}

func init() {
	for _, u := range strings.Split("Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None", " ") {
		units[u] = true
	}
}

var namespace = regexp.MustCompile(`^[a-zA-Z0-9._#:/-]{1,256}$`)

// minMillis is 2001-09-09 in milliseconds: a Timestamp below it is in seconds, not milliseconds.
const minMillis = 1_000_000_000_000

// Check parses line as one EMF object and checks it: a single JSON object; _aws.Timestamp in
// milliseconds; each directive's namespace, at most 100 metrics with valid units, each a member
// holding a number or at most 100 numbers; at most 30 dimensions per set, each a member holding a
// non-empty ASCII string. It returns the object's members.
func Check(line string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() || strings.ContainsAny(strings.TrimSpace(line), "\n") {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no _aws object")
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("_aws.Timestamp %v is not a number", aws["Timestamp"])
	}
	ms, err := ts.Int64()
	if err != nil || ms < minMillis {
		return nil, fmt.Errorf("_aws.Timestamp %v is not whole milliseconds since the epoch", ts)
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics is not a non-empty array")
	}
	for i, raw := range dirs {
		d, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("directive %d is not an object", i)
		}
		if ns, _ := d["Namespace"].(string); !namespace.MatchString(ns) {
			return nil, fmt.Errorf("directive %d: namespace %q", i, d["Namespace"])
		}
		sets, ok := d["Dimensions"].([]any)
		if !ok {
			return nil, fmt.Errorf("directive %d: Dimensions is not an array", i)
		}
		for _, rs := range sets {
			set, ok := rs.([]any)
			if !ok || len(set) > 30 {
				return nil, fmt.Errorf("directive %d: dimension set %v is not an array of at most 30", i, rs)
			}
			for _, rk := range set {
				k, _ := rk.(string)
				v, ok := root[k].(string)
				if k == "" || !ok || v == "" || len(v) > 1024 || !ascii(k+v) || strings.HasPrefix(k, ":") {
					return nil, fmt.Errorf("directive %d: dimension %q has no non-empty ASCII string member (%v)", i, rk, root[k])
				}
			}
		}
		ms, ok := d["Metrics"].([]any)
		if !ok || len(ms) == 0 || len(ms) > 100 {
			return nil, fmt.Errorf("directive %d: Metrics is not an array of 1 to 100", i)
		}
		for _, rm := range ms {
			m, _ := rm.(map[string]any)
			name, _ := m["Name"].(string)
			if u, has := m["Unit"]; has {
				if s, _ := u.(string); !units[s] {
					return nil, fmt.Errorf("metric %q: unit %v", name, u)
				}
			}
			if err := number(name, root[name]); err != nil {
				return nil, err
			}
		}
	}
	return root, nil
}

func number(name string, v any) error {
	switch x := v.(type) {
	case json.Number:
		if _, err := x.Float64(); err != nil {
			return fmt.Errorf("metric %q: %v is not a finite number", name, x)
		}
		return nil
	case []any:
		if len(x) == 0 || len(x) > 100 {
			return fmt.Errorf("metric %q: %d values, want 1 to 100", name, len(x))
		}
		for _, e := range x {
			if _, ok := e.(json.Number); !ok {
				return fmt.Errorf("metric %q: value %v is not a number", name, e)
			}
		}
		return nil
	default:
		return fmt.Errorf("metric %q: member %v is not a number", name, v)
	}
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Lines returns the EMF objects among output's lines (those with an _aws member), each checked;
// the first line that fails is an error.
func Lines(output string) ([]map[string]any, error) {
	var out []map[string]any
	for _, line := range strings.Split(output, "\n") {
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		m, err := Check(line)
		if err != nil {
			return out, fmt.Errorf("%w: %s", err, line)
		}
		out = append(out, m)
	}
	return out, nil
}

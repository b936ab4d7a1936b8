// Command apssamples writes the generated APS samples of events/ (tools/apssamples/catalog): each
// an API Gateway payload 2.0 request of a JSON POST to an APS feedback route, signed with a phrase
// set of the development merchant secret, events/dev/aps-merchant.json, read from the file itself so
// that the samples verify against the secret the local stack and the tests load. Run it at the
// repository root:
//
//	go run ./tools/apssamples          (make generate runs it)
//	go run ./tools/apssamples -check   exit 1 naming each sample that differs or is missing
//
// The six hand-written APS samples of events/ are left alone. tools/apssamples' tests fail too when
// a sample differs from what it writes.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/tools/apssamples/catalog"
)

// eventsDir holds the samples, relative to the repository root.
const eventsDir = "events"

func main() {
	check := flag.Bool("check", false, "exit 1 when a generated APS sample in events/ differs from what this command writes")
	flag.Parse()
	root, err := os.Getwd()
	if err == nil {
		err = run(root, *check)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apssamples:", err)
		os.Exit(1)
	}
}

// run writes the samples under root, signed with root's merchant secret, or with check reports
// every one that differs.
func run(root string, check bool) error {
	m, err := catalog.LoadMerchant(root)
	if err != nil {
		return err
	}
	files, err := generated(m)
	if err != nil {
		return err
	}
	if check {
		return checkFiles(root, files)
	}
	return write(root, files)
}

// generated is every sample file by name, as m's sets sign them.
func generated(m catalog.Merchant) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range catalog.Samples(m) {
		b, err := request(s, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		out[s.File] = b
	}
	return out, nil
}

// request is s as the events/ files hold one: API Gateway's payload 2.0 of a JSON POST, indented
// JSON with a final newline.
func request(s catalog.Sample, m catalog.Merchant) ([]byte, error) {
	p, err := s.Set(m).Sign(s.Params)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	path := "/aps/" + s.Feedback + "-feedback"
	id := "req-" + strings.TrimSuffix(s.File, ".json")
	ua := "Apache-HttpClient/4.5"
	req := map[string]any{
		"body": string(body), "headers": map[string]string{"content-type": "application/json", "host": "payments.example.com", "user-agent": ua},
		"isBase64Encoded": false, "rawPath": path, "rawQueryString": "", "routeKey": "POST " + path, "version": "2.0",
		"requestContext": map[string]any{
			"accountId": "123456789012", "apiId": "abcdef1234", "domainName": "payments.example.com", "domainPrefix": "payments",
			"http":      map[string]string{"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.20", "userAgent": ua},
			"requestId": id, "routeKey": "POST " + path, "stage": "$default", "time": "28/Jan/2025:11:14:36 +0000", "timeEpoch": 1738062876000,
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkFiles reports every sample under root that differs from files or is missing. It writes nothing.
func checkFiles(root string, files map[string][]byte) error {
	var stale []string
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join(root, eventsDir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			stale = append(stale, filepath.Join(eventsDir, name)+" (missing)")
		case err != nil:
			stale = append(stale, filepath.Join(eventsDir, name)+" ("+err.Error()+")")
		case !bytes.Equal(got, b):
			stale = append(stale, filepath.Join(eventsDir, name))
		}
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		return fmt.Errorf("differs from what tools/apssamples writes (run make generate): %s", strings.Join(stale, ", "))
	}
	return nil
}

// write writes files under root's events/.
func write(root string, files map[string][]byte) error {
	dir := filepath.Join(root, eventsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

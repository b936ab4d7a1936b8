// Command samplebody prints what to send of a sample of events/: its request body (the event's
// `body`, base64-decoded when it is), or with -event the whole API Gateway payload 2.0 event,
// with the verificationCodeTTL of every still-valid OTP entry set to an hour from now
// (tools/samples). Amazon's example of a usable OTP carries a TTL in 2099, which the gateway
// quarantines as valid too long (ShippingOtpMaxTtlDays); an expired OTP (the seed sample's) stays
// expired. Nothing else changes, so the body goes to curl as it is:
//
//	go run ./tools/samplebody events/shipping-otp-valid.json | curl -s -X POST <url> \
//	  -H 'Content-Type: application/json' -H 'X-API-KEY: <key>' --data-binary @-
//	go run ./tools/samplebody -event events/shipping-otp-valid.json | sam local invoke ShippingOtpFunction --event -
//
// What it set goes to stderr (never a code); the exit status is 1 when the file is not an event,
// 2 on a bad command line.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

func main() { os.Exit(run(os.Args[1:], time.Now, os.Stdout, os.Stderr)) }

func run(args []string, now func() time.Time, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samplebody", flag.ContinueOnError)
	fs.SetOutput(stderr)
	whole := fs.Bool("event", false, "print the whole event (for sam local invoke --event -), not only its body")
	validFor := fs.Duration("valid-for", samples.Validity, "how long after now the sample's still-valid OTPs stay valid")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *validFor <= 0 {
		fmt.Fprintln(stderr, "usage: samplebody [-event] [-valid-for 1h] events/<sample>.json")
		return 2
	}
	file := fs.Arg(0)
	ev, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "samplebody:", err)
		return 1
	}
	at := now()
	ttl := at.Add(*validFor)
	out, n, err := samples.RefreshEvent(ev, at, ttl)
	if err == nil && !*whole {
		out, err = samples.Body(out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "samplebody: %s: %v\n", file, err)
		return 1
	}
	if n > 0 {
		fmt.Fprintf(stderr, "samplebody: %s: verificationCodeTTL of %d OTP entr%s set to %s (now + %s)\n",
			file, n, map[bool]string{true: "y", false: "ies"}[n == 1], ttl.UTC().Format(time.RFC3339), *validFor)
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintln(stderr, "samplebody:", err)
		return 1
	}
	return 0
}

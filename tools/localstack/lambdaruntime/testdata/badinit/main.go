// Command badinit is a test fixture Lambda function that refuses to start, as the gateway's
// functions do on bad configuration: it logs a JSON line and exits 1 before calling lambda.Start.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if os.Getenv("BADINIT_OK") == "" {
		fmt.Println(`{"level":"ERROR","msg":"configuration error","missing":"BADINIT_OK"}`)
		os.Exit(1)
	}
	lambda.Start(func() (string, error) { return "ok", nil })
}

// Command initerror is a test fixture Lambda function that reports its own init failure through
// the Runtime API (POST /2018-06-01/runtime/init/error), as a custom runtime may, then exits.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	fmt.Fprintln(os.Stderr, "initerror: reporting an init error")
	body := `{"errorMessage":"the fixture cannot start","errorType":"Fixture.InitFailed"}`
	req, err := http.NewRequest(http.MethodPost,
		"http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Fixture.InitFailed")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "initerror:", err)
		os.Exit(2)
	}
	resp.Body.Close()
	fmt.Fprintln(os.Stderr, "initerror: runtime API answered", resp.StatusCode)
	os.Exit(1)
}

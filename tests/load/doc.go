// Package load drives about 2,000 deliveries (make test; make load: 10,000) of the three webhooks (Amazon Shipping OTP push
// notifications, APS feedback, Amazon Pay IPNs over SNS) at concurrency 32 through the harness
// handlers, against one moto_server, and checks that nothing is lost, nothing is processed twice
// and the newest OTP of every tracking ID wins. See load_test.go.
package load

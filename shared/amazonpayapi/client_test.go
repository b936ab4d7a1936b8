package amazonpayapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/tests/amazonpaystub"
)

// The client's GETs verify with the public key at the stand-in; a request signed with another
// key does not; failures come back as errors a caller can tell apart.
func TestTheClientSignsWhatTheStandInVerifies(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stub := amazonpaystub.New(t, "PUBKEY1", &key.PublicKey)
	stub.Put(amazonpayapi.Charge, "S01-1-1-C1", `{"chargeId":"S01-1-1-C1"}`)
	client := func(k *rsa.PrivateKey) *amazonpayapi.Client {
		return &amazonpayapi.Client{BaseURL: stub.URL, Key: func(context.Context) (amazonpayapi.Key, error) {
			return amazonpayapi.Key{PublicKeyID: "PUBKEY1", PrivateKey: k, Region: "eu"}, nil
		}}
	}
	tests := []struct {
		name   string
		client *amazonpayapi.Client
		id     string
		fail   int
		hang   bool
		status int // the StatusError's; 0: success or another error
		want   string
		check  func(error) bool
	}{
		{name: "signed and found", client: client(key), id: "S01-1-1-C1", want: `{"chargeId":"S01-1-1-C1"}`},
		{name: "not found", client: client(key), id: "S01-1-1-C2", status: 404},
		{name: "other key", client: client(other), id: "S01-1-1-C1", status: 401},
		{name: "throttled", client: client(key), id: "S01-1-1-C1", fail: 429, status: 429},
		{name: "down", client: client(key), id: "S01-1-1-C1", fail: 503, status: 503},
		{name: "hangs", client: client(key), id: "S01-1-1-C1", hang: true, check: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{name: "path in the id", client: client(key), id: "../charges/S01", check: func(err error) bool { return errors.Is(err, amazonpayapi.ErrInvalidID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub.Fail(tc.fail)
			stub.Hang(tc.hang)
			defer stub.Fail(0)
			defer stub.Hang(false)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got, err := tc.client.Get(ctx, amazonpayapi.Charge, tc.id)
			var se *amazonpayapi.StatusError
			switch {
			case tc.want != "":
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %s, %v", got, err)
				}
			case tc.status != 0:
				if !errors.As(err, &se) || se.StatusCode != tc.status || se.RequestID == "" {
					t.Fatalf("err = %v, want HTTP %d with a request id", err, tc.status)
				}
			default:
				if !tc.check(err) {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
	reqs := stub.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests reached the stand-in, want 6 (none for the invalid id)", len(reqs))
	}
	for i, r := range reqs {
		if r.Verified != (i != 2) || r.SignedHeaders != "accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-region" {
			t.Errorf("request %d: %+v", i, r)
		}
	}
}

package snsverify

import (
	"reflect"
	"testing"
)

// assertParseSameAsTokens: Parse (fast path first) answers exactly what the token reading answers.
func assertParseSameAsTokens(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := Parse(body)
	want, wantErr := parseTokens(body)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("body %q:\n got %+v, %v\nwant %+v, %v", body, got, gotErr, want, wantErr)
	}
}

func TestIssue13_ParseFastPathMatchesTokens(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		fastOK bool
	}{
		{"notification", `{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":"arn:aws:sns:eu-west-1:123456789012:t","Message":"{\"a\":1}","Timestamp":"2026-01-02T03:04:05.678Z","SignatureVersion":"2","Signature":"c2ln","SigningCertURL":"https://sns.eu-west-1.amazonaws.com/x.pem","UnsubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe","Extra":{"x":1}}`, true},
		{"both cert URL spellings", `{"Type":"Notification","SigningCertURL":"https://a","SigningCertUrl":"https://b"}`, false},
		{"repeated field", `{"Type":"Notification","Type":"Notification"}`, false},
		{"number", `{"Type":1}`, false},
		{"null field", `{"Type":"Notification","Subject":null}`, false},
		{"not an object", `[]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := parseFast([]byte(tc.body)); ok != tc.fastOK {
				t.Errorf("fast path ok = %v, want %v", ok, tc.fastOK)
			}
			assertParseSameAsTokens(t, []byte(tc.body))
		})
	}
}

// FuzzParseFastPath: for any body, Parse answers exactly what the token-by-token reading answers.
func FuzzParseFastPath(f *testing.F) {
	f.Add([]byte(`{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":"arn:aws:sns:eu-west-1:123456789012:t","Message":"hi","Timestamp":"2026-01-02T03:04:05.678Z","SignatureVersion":"2","Signature":"c2ln","SigningCertURL":"https://sns.eu-west-1.amazonaws.com/x.pem"}`))
	f.Add([]byte(`{"Type":"Notification","SigningCertURL":"https://a","SigningCertUrl":"https://b"}`))
	f.Add([]byte(`{"Type":"Notification","Subject":null,"X":[1,{"y":","}]}`))
	f.Fuzz(func(t *testing.T, body []byte) { assertParseSameAsTokens(t, body) })
}

package safelist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const topSecret = "TOPSECRETVALUE"

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Credentials
		err  string // substring; "" = success
	}{
		{"ok", `{"merchantId":"AMAZONMID12","accessKeyId":"AKIDEXAMPLE","secretKey":"` + topSecret + `","note":"extra fields ignored"}`,
			Credentials{"AMAZONMID12", "AKIDEXAMPLE", topSecret}, ""},
		{"trimmed", `{"merchantId":" AMAZONMID12 ","accessKeyId":"AKIDEXAMPLE","secretKey":"` + topSecret + `\n"}`,
			Credentials{"AMAZONMID12", "AKIDEXAMPLE", topSecret}, ""},
		{"missing merchantId", `{"accessKeyId":"AKIDEXAMPLE","secretKey":"` + topSecret + `"}`, Credentials{}, "merchantId is empty"},
		{"missing accessKeyId", `{"merchantId":"M","secretKey":"` + topSecret + `"}`, Credentials{}, "accessKeyId is empty"},
		{"blank secretKey", `{"merchantId":"M","accessKeyId":"A","secretKey":"  "}`, Credentials{}, "secretKey is empty"},
		{"secretKey not a string", `{"merchantId":"M","accessKeyId":"` + topSecret + `","secretKey":123}`, Credentials{}, "secretKey must be a JSON string"},
		{"truncated JSON", `{"merchantId":"M","accessKeyId":"A","secretKey":"` + topSecret, Credentials{}, "not a JSON object"},
		{"syntax error after the secret", `{"secretKey":"` + topSecret + `"x}`, Credentials{}, "not a JSON object"},
		{"a JSON string", `"` + topSecret + `"`, Credentials{}, "not a JSON object"},
		{"empty", ``, Credentials{}, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials([]byte(tt.raw))
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %#v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("err does not match ErrInvalidCredentials")
			}
			if strings.Contains(err.Error(), topSecret) || strings.Contains(err.Error(), "TOPSECRET") {
				t.Errorf("error shows a value: %v", err)
			}
		})
	}
}

func TestCredentialsFormattingHidesSecret(t *testing.T) {
	c := Credentials{MerchantID: "M", AccessKeyID: "A", SecretKey: topSecret}
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		if s := fmt.Sprintf(f, c); strings.Contains(s, topSecret) || !strings.Contains(s, "redacted") {
			t.Errorf("%s: %s", f, s)
		}
	}
	if s := fmt.Sprintf("%v", &c); strings.Contains(s, topSecret) {
		t.Errorf("pointer: %s", s)
	}
}

type fakeSecrets struct {
	value  *string
	binary []byte
	err    error
	gotID  string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.gotID = *in.SecretId
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value, SecretBinary: f.binary}, nil
}

func TestLoadCredentials(t *testing.T) {
	good := `{"merchantId":"M","accessKeyId":"A","secretKey":"` + topSecret + `"}`
	bad := `{"merchantId":"M","secretKey":"` + topSecret + `"}`
	boom := errors.New("AccessDeniedException")
	tests := []struct {
		name string
		sm   *fakeSecrets
		err  error
	}{
		{"string", &fakeSecrets{value: &good}, nil},
		{"binary", &fakeSecrets{binary: []byte(good)}, nil},
		{"invalid", &fakeSecrets{value: &bad}, ErrInvalidCredentials},
		{"API error", &fakeSecrets{err: boom}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadCredentials(t.Context(), tt.sm, "amazon-pay/in")
			if tt.sm.gotID != "amazon-pay/in" {
				t.Errorf("secret id = %q", tt.sm.gotID)
			}
			if tt.err == nil {
				if err != nil || c.SecretKey != topSecret {
					t.Fatalf("got %v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "amazon-pay/in") || strings.Contains(err.Error(), topSecret) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// What LoadCredentials answers when the secret cannot be read or used, word for word: the
// CloudFormation FAILED Reason carries it, so a change of the reader must not reword it unnoticed.
func TestLoadCredentialsAnswersKeepTheirWording(t *testing.T) {
	missing := `{"merchantId":"M","secretKey":"` + topSecret + `"}`
	notJSON := `not json ` + topSecret
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:amazon-pay-AbCdEf"
	tests := []struct {
		name string
		sm   *fakeSecrets
		want string
	}{
		{"API error", &fakeSecrets{err: errors.New("AccessDeniedException: not allowed")}, "safelist: reading secret " + arn + ": AccessDeniedException: not allowed"},
		{"field missing", &fakeSecrets{value: &missing}, "secret " + arn + ": safelist: invalid credentials: accessKeyId is empty"},
		{"not JSON", &fakeSecrets{value: &notJSON}, "secret " + arn + `: safelist: invalid credentials: the secret is not a JSON object {"merchantId","accessKeyId","secretKey"}`},
		{"binary field missing", &fakeSecrets{binary: []byte(missing)}, "secret " + arn + ": safelist: invalid credentials: accessKeyId is empty"},
		{"no value", &fakeSecrets{}, "secret " + arn + `: safelist: invalid credentials: the secret is not a JSON object {"merchantId","accessKeyId","secretKey"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCredentials(t.Context(), tt.sm, arn)
			if err == nil || err.Error() != tt.want {
				t.Errorf("LoadCredentials: %v\nwant %s", err, tt.want)
			}
		})
	}
}

package apssignature

import (
	"errors"
	"strings"
	"testing"
)

// The two vectors published for APS (SHA-256, phrase PASS). The other algorithms' values were
// computed independently of this package, with Python's hashlib and hmac over the same string:
//
//	s = "PASS" + "".join(f"{k}={p[k]}" for k in sorted(p)) + "PASS"
//	hashlib.sha512(s.encode()).hexdigest(); hmac.new(b"PASS", s.encode(), hashlib.sha256).hexdigest() ...
var (
	purchase = map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "amount": "1000", "command": "PURCHASE", "currency": "USD",
		"customer_email": "test@gmail.com", "language": "en", "merchant_identifier": "MxvOupuG", "merchant_reference": "Test010",
	}
	tokenization = map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "language": "en", "merchant_identifier": "MxvOupuG",
		"merchant_reference": "MyReference0001", "service_command": "TOKENIZATION",
	}
)

var vectors = []struct {
	name   string
	params map[string]string
	alg    Algorithm
	want   string
}{
	{"purchase SHA-256 (published)", purchase, SHA256, "94c38afc7bdae0114fc8c740edf12416f22998241ce4b4ea70d5521233a2c882"},
	{"tokenization SHA-256 (published)", tokenization, SHA256, "7ee560ccd621da61bfc772f2f1b5849babda768f5ee36d4de67efa88403e4b99"},
	{"purchase SHA-512", purchase, SHA512, "01575815bbdb23a862855bf2087012e243215e6464b6239a422d9a85936adca90bf6c3227c180890ad13b00ddf3a248608053d7174cbe622f24bdf2d5f345638"},
	{"tokenization SHA-512", tokenization, SHA512, "32686d7706daa86ea2f81b04dd57aaea7a781938a703a9411c4a56635f9687e441b87c8f0e66f5bddc4dc21eda1c4034582587194f08eae5c5e695e6c00c21b7"},
	{"purchase HMAC-SHA256", purchase, HMACSHA256, "b592468a25c7292cdadb2e58c3c184e5b868eda03d8c2920f66fe16a587681f3"},
	{"tokenization HMAC-SHA256", tokenization, HMACSHA256, "5150ac19bab82bfde1394562bb84922c4fa82e7fce8e5cd116625f25d72dd9ed"},
	{"purchase HMAC-SHA512", purchase, HMACSHA512, "4c3addc9583cdadb5861d22926c2e6735aa32e18a747981fdafe454b050c38651bf96ab468ce24619468d87b8dad45820803b95595c3dca5710604ce363e75a2"},
	{"tokenization HMAC-SHA512", tokenization, HMACSHA512, "c039c5279c82accda657146d7f6917598f635a0ab898dd5f0973d5de68d93574de146f18cb3ba6ba0334c3b13847101ec088fb98c76267fe21ff469f19eeedb8"},
}

func with(p map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range p {
		out[a] = b
	}
	out[k] = v
	return out
}

func TestCanonical(t *testing.T) {
	want := "access_code=SILgpo7pWbmzuURp2qriamount=1000command=PURCHASEcurrency=USDcustomer_email=test@gmail.comlanguage=enmerchant_identifier=MxvOupuGmerchant_reference=Test010"
	if got := Canonical(with(purchase, "signature", "ignored")); got != want {
		t.Errorf("Canonical = %s", got)
	}
	// Byte order: upper case sorts before lower case, "_" after letters' upper case.
	if got := Canonical(map[string]string{"b": "1", "B": "2", "a_b": "3", "aB": "4"}); got != "B=2aB=4a_b=3b=1" {
		t.Errorf("byte order: %s", got)
	}
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			s, err := NewSigner(v.alg, "PASS")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Sign(v.params); got != v.want {
				t.Fatalf("Sign = %s, want %s", got, v.want)
			}
			ver, _ := NewVerifier(v.alg, "PASS")
			for _, sig := range []string{v.want, strings.ToUpper(v.want)} {
				if err := ver.Verify(with(v.params, "signature", sig)); err != nil {
					t.Errorf("Verify(%s…): %v", sig[:8], err)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	good := with(purchase, "signature", vectors[0].want)
	ver, _ := NewVerifier(SHA256, "PASS")
	tests := []struct {
		name   string
		params map[string]string
		want   error
	}{
		{"no signature", purchase, ErrMissing},
		{"empty signature", with(purchase, "signature", ""), ErrMissing},
		{"tampered amount", with(good, "amount", "100000"), ErrMismatch},
		{"added parameter", with(good, "status", "14"), ErrMismatch},
		{"not hex", with(good, "signature", "zz"+vectors[0].want[2:]), ErrMismatch},
		{"truncated", with(good, "signature", vectors[0].want[:32]), ErrMismatch},
		{"other algorithm's signature", with(purchase, "signature", vectors[4].want), ErrMismatch},
	}
	for _, tc := range tests {
		if err := ver.Verify(tc.params); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	other, _ := NewVerifier(SHA256, "OTHER")
	if err := other.Verify(good); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong phrase accepted: %v", err)
	}
}

func TestRotationAcceptsBothPhrases(t *testing.T) {
	ver, err := NewVerifier(HMACSHA256, "NEW", "", "PASS")
	if err != nil {
		t.Fatal(err)
	}
	if err := ver.Verify(with(purchase, "signature", vectors[4].want)); err != nil {
		t.Errorf("previous phrase rejected: %v", err)
	}
	newer, _ := NewSigner(HMACSHA256, "NEW")
	if err := ver.Verify(with(purchase, "signature", newer.Sign(purchase))); err != nil {
		t.Errorf("new phrase rejected: %v", err)
	}
	if _, err := NewVerifier(SHA256, "", ""); err == nil {
		t.Error("verifier without a phrase accepted")
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"SHA-256": SHA256, "sha256": SHA256, "SHA-512": SHA512, "hmac-sha256": HMACSHA256, "HMAC_SHA512": HMACSHA512} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "MD5", "SHA-1", "HMAC-SHA1"} {
		if _, err := ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) accepted", in)
		}
	}
}

// FuzzVerify: a random signature never verifies, and a message signed here always does.
func FuzzVerify(f *testing.F) {
	f.Add("amount", "1000", vectors[0].want)
	f.Add("signature", "x", "")
	f.Add("", "", "ZZ")
	f.Fuzz(func(t *testing.T, name, value, sig string) {
		ver, _ := NewVerifier(SHA256, "PASS")
		signer, _ := NewSigner(SHA256, "PASS")
		p := with(purchase, name, value)
		real := signer.Sign(p)
		p[SignatureParam] = sig
		err := ver.Verify(p)
		if name == SignatureParam {
			return
		}
		if (err == nil) != strings.EqualFold(strings.TrimSpace(sig), real) {
			t.Fatalf("sig %q: err %v (real %s)", sig, err, real)
		}
		p[SignatureParam] = real
		if err := ver.Verify(p); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

func BenchmarkVerifySHA256(b *testing.B) {
	ver, _ := NewVerifier(SHA256, "PASS")
	p := with(purchase, "signature", vectors[0].want)
	for b.Loop() {
		if err := ver.Verify(p); err != nil {
			b.Fatal(err)
		}
	}
}

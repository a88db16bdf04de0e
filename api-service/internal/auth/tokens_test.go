package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "unit-test-secret-0123456789-0123456789"

func newTestTokens(t *testing.T, now time.Time) *Tokens {
	t.Helper()
	tok, err := NewTokens(testSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok.now = func() time.Time { return now }
	return tok
}

func TestNewTokensSecretLength(t *testing.T) {
	if _, err := NewTokens(strings.Repeat("s", MinSecretLen-1), time.Hour); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
	if _, err := NewTokens("", time.Hour); err == nil {
		t.Fatal("an empty secret was accepted")
	}
	tok, err := NewTokens(strings.Repeat("s", MinSecretLen), time.Hour)
	if err != nil {
		t.Fatalf("a 32-byte secret was refused: %v", err)
	}
	if tok.TTL() != time.Hour {
		t.Fatalf("TTL %v", tok.TTL())
	}
}

func TestIssueVerify(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tok := newTestTokens(t, now)
	s, err := tok.Issue(Claims{Subject: "alice", Generation: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tok.Verify(s)
	if err != nil || got.Subject != "alice" || got.Generation != 3 {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	// The token carries the pinned algorithm, issuer, expiry and generation.
	header, claims := decodeParts(t, s)
	if header["alg"] != "HS256" || claims["iss"] != issuer || claims["sub"] != "alice" || claims["gen"] != float64(3) {
		t.Fatalf("header %v claims %v", header, claims)
	}
	if exp, _ := claims["exp"].(float64); int64(exp) != now.Add(time.Hour).Unix() {
		t.Fatalf("exp %v, want %d", claims["exp"], now.Add(time.Hour).Unix())
	}
	// Valid until the expiry (plus the small leeway), refused after.
	tok.now = func() time.Time { return now.Add(time.Hour - time.Second) }
	if _, err := tok.Verify(s); err != nil {
		t.Fatalf("refused before expiry: %v", err)
	}
	tok.now = func() time.Time { return now.Add(time.Hour + 6*time.Second) }
	if _, err := tok.Verify(s); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tok := newTestTokens(t, now)
	valid := jwt.RegisteredClaims{
		Issuer: issuer, Subject: "alice",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	sign := func(m jwt.SigningMethod, claims jwt.Claims, key any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(change func(c *jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := valid
		change(&c)
		return c
	}
	good := sign(jwt.SigningMethodHS256, valid, []byte(testSecret))
	if _, err := tok.Verify(good); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	goodParts := strings.Split(good, ".")
	cases := map[string]string{
		"expired":          sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), []byte(testSecret)),
		"no exp":           sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }), []byte(testSecret)),
		"not yet valid":    sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }), []byte(testSecret)),
		"wrong issuer":     sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.Issuer = "someone-else" }), []byte(testSecret)),
		"no issuer":        sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.Issuer = "" }), []byte(testSecret)),
		"no subject":       sign(jwt.SigningMethodHS256, with(func(c *jwt.RegisteredClaims) { c.Subject = "" }), []byte(testSecret)),
		"other secret":     sign(jwt.SigningMethodHS256, valid, []byte("another-secret-0123456789-0123456789")),
		"alg none":         sign(jwt.SigningMethodNone, valid, jwt.UnsafeAllowNoneSignatureType),
		"alg HS512":        sign(jwt.SigningMethodHS512, valid, []byte(testSecret)),
		"alg HS384":        sign(jwt.SigningMethodHS384, valid, []byte(testSecret)),
		"alg RS256 header": hmacToken(t, map[string]any{"alg": "RS256", "typ": "JWT"}, valid),
		"alg none, HMAC":   hmacToken(t, map[string]any{"alg": "none", "typ": "JWT"}, valid),
		"alg hs256 lower":  hmacToken(t, map[string]any{"alg": "hs256", "typ": "JWT"}, valid),
		"no signature":     goodParts[0] + "." + goodParts[1] + ".",
		"tampered subject": goodParts[0] + "." + b64(t, with(func(c *jwt.RegisteredClaims) { c.Subject = "root" })) + "." + goodParts[2],
		"empty":            "",
		"garbage":          "not-a-token",
		"dots":             "..",
		"two parts":        goodParts[0] + "." + goodParts[1],
		"four parts":       good + ".x",
		"bad base64":       "!!!." + goodParts[1] + "." + goodParts[2],
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := tok.Verify(s)
			if err == nil {
				t.Fatalf("accepted, subject %q", c.Subject)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
		})
	}
}

// hmacToken builds a token with an arbitrary header, signed with
// HMAC-SHA256 under the real secret, as an attacker who confuses
// algorithms would.
func hmacToken(t *testing.T, header map[string]any, claims jwt.Claims) string {
	t.Helper()
	input := b64(t, header) + "." + b64(t, claims)
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func b64(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", token, len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

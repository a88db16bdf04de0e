package probesim

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DevSecret is the signing secret of a probe-sim started without one. It is
// public, so tokens signed with it are worthless outside a developer's
// machine.
const DevSecret = "probe-sim-dev-secret-do-not-use-in-production-0123456789"

// tokenSubject names the caller in minted tokens; it is informative only.
const tokenSubject = "mailing-sender"

// MintToken returns an HS256 token for secret that expires at expires (no
// expiry when expires is zero). Tests use it to call a Server; the
// probe-sim "token" command prints one for development.
func MintToken(secret string, expires time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("mint token: empty secret")
	}
	claims := jwt.RegisteredClaims{Subject: tokenSubject, IssuedAt: jwt.NewNumericDate(time.Now())}
	if !expires.IsZero() {
		claims.ExpiresAt = jwt.NewNumericDate(expires)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// verifier checks bearer tokens: HS256 only, expiry enforced when present.
// A sender uses one token for every request, so the last valid token is
// remembered and a repeat costs a string comparison instead of an HMAC.
type verifier struct {
	secret []byte
	now    func() time.Time
	last   atomic.Pointer[validToken]
}

type validToken struct {
	raw     string
	expires time.Time // zero: never
}

func newVerifier(secret string, now func() time.Time) *verifier {
	return &verifier{secret: []byte(secret), now: now}
}

// check reports whether the Authorization header carries a valid token.
func (v *verifier) check(header string) bool {
	raw, ok := bearer(header)
	if !ok {
		return false
	}
	if t := v.last.Load(); t != nil && t.raw == raw {
		return t.expires.IsZero() || v.now().Before(t.expires)
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, v.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return false
	}
	t := &validToken{raw: raw}
	if claims.ExpiresAt != nil {
		t.expires = claims.ExpiresAt.Time
	}
	v.last.Store(t)
	return true
}

func (v *verifier) key(*jwt.Token) (any, error) { return v.secret, nil }

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 7235).
func bearer(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	raw := strings.TrimSpace(header[len(scheme):])
	return raw, raw != ""
}

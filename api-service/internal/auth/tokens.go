// Package auth proves who calls: it issues and verifies access tokens,
// makes and checks API key secrets, hashes passwords, throttles login
// attempts, and turns a bearer credential into a domain.Principal through
// the Authenticator, which caches what it looked up for as long as a feed
// of changes keeps the cache honest.
package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest HS256 secret accepted.
const MinSecretLen = 32

const issuer = "mailing-service"

// Tokens signs and verifies HS256 access tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens checks the secret length and returns a signer/verifier.
func NewTokens(secret string, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("JWT secret must be at least %d bytes", MinSecretLen)
	}
	return &Tokens{secret: []byte(secret), ttl: ttl, now: time.Now}, nil
}

// TTL is the lifetime of issued tokens.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Claims are what a token says about its bearer.
type Claims struct {
	// Subject is the user's id.
	Subject string
	// Generation is the user's token generation when the token was issued;
	// the token is good only while the user's generation is the same.
	Generation int64
}

// tokenClaims are the JWT's claims: the registered ones and "gen".
type tokenClaims struct {
	jwt.RegisteredClaims
	Generation int64 `json:"gen,omitempty"`
}

// Issue returns a signed token carrying c.
func (t *Tokens) Issue(c Claims) (string, error) {
	now := t.now()
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   c.Subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}, Generation: c.Generation}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrInvalidToken is returned for every token that must not be accepted.
var ErrInvalidToken = errors.New("invalid or expired token")

// Verify checks signature (HS256 only), expiry (required) and issuer, and
// returns the claims. Whether the generation is still the user's is for
// the caller to check.
func (t *Tokens) Verify(token string) (Claims, error) {
	claims := &tokenClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return Claims{Subject: claims.Subject, Generation: claims.Generation}, nil
}

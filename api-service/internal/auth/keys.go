package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// KeyPrefix begins every API key secret: a bearer credential that starts
// with it is a key, anything else a JWT, and a leaked secret is
// recognisable as ours.
const KeyPrefix = "mk_live_"

// A secret is KeyPrefix, keyIDLen hex digits naming the key (the lookup
// prefix, stored in clear), "_" and 256 random bits in lowercase base32.
const (
	keyIDLen     = 12
	keyRandomLen = 52 // base32 of 32 bytes, unpadded
	keySecretLen = len(KeyPrefix) + keyIDLen + 1 + keyRandomLen
)

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKeySecret returns a new API key secret and its lookup prefix
// (KeyPrefix and the key's hex id part), which is stored in clear to find
// the key and shown in lists.
func NewKeySecret() (secret, prefix string) {
	id := make([]byte, keyIDLen/2)
	random := make([]byte, 32)
	_, _ = rand.Read(id) // crypto/rand never fails
	_, _ = rand.Read(random)
	prefix = KeyPrefix + hex.EncodeToString(id)
	return prefix + "_" + keyEncoding.EncodeToString(random), prefix
}

// IsKey reports whether a bearer credential is meant as an API key.
func IsKey(credential string) bool { return strings.HasPrefix(credential, KeyPrefix) }

// KeyLookupPrefix returns the lookup prefix of a presented secret, or
// false when it is not shaped like a secret of ours.
func KeyLookupPrefix(secret string) (string, bool) {
	if len(secret) != keySecretLen || !IsKey(secret) || secret[len(KeyPrefix)+keyIDLen] != '_' {
		return "", false
	}
	prefix := secret[:len(KeyPrefix)+keyIDLen]
	for _, c := range prefix[len(KeyPrefix):] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	for _, c := range secret[len(prefix)+1:] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return "", false
		}
	}
	return prefix, true
}

// HashKey is what is stored of a secret: its SHA-256. The secret is 256
// random bits, so a fast hash suffices (unlike passwords, it cannot be
// guessed from a dictionary), and checking it costs a microsecond.
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

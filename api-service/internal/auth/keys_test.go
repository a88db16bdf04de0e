package auth

import (
	"strings"
	"testing"
)

func TestKeySecret(t *testing.T) {
	secret, prefix := NewKeySecret()
	if !IsKey(secret) || !strings.HasPrefix(secret, prefix+"_") || len(prefix) != len(KeyPrefix)+12 {
		t.Fatalf("secret %q prefix %q", secret, prefix)
	}
	got, ok := KeyLookupPrefix(secret)
	if !ok || got != prefix {
		t.Fatalf("KeyLookupPrefix = %q %v, want %q", got, ok, prefix)
	}
	other, otherPrefix := NewKeySecret()
	if other == secret || otherPrefix == prefix {
		t.Fatal("two keys share a secret or a prefix")
	}
	if len(HashKey(secret)) != 32 || string(HashKey(secret)) == string(HashKey(other)) {
		t.Fatal("hashes are not 32 distinct bytes")
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"prefix only":    prefix,
		"short":          secret[:len(secret)-1],
		"long":           secret + "a",
		"no separator":   prefix + "x" + secret[len(prefix)+1:],
		"upper id":       KeyPrefix + "ABCDEF012345" + secret[len(prefix):],
		"bad random":     prefix + "_" + strings.Repeat("1", 52),
		"other prefix":   "mk_test_" + secret[len(KeyPrefix):],
		"a JWT":          "eyJhbGciOiJIUzI1NiIs.eyJzdWIiOiIxIn0.sig",
		"spaces":         " " + secret[1:],
		"non-hex id":     KeyPrefix + "zzzzzzzzzzzz" + secret[len(prefix):],
		"unicode random": prefix + "_" + strings.Repeat("я", 26),
	} {
		if _, ok := KeyLookupPrefix(bad); ok {
			t.Errorf("%s: %q accepted", name, bad)
		}
	}
}

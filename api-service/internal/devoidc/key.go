package devoidc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"
)

// minKeyBits is the smallest RSA key accepted for RS256 (RFC 7518, 3.3).
const minKeyBits = 2048

// GenerateKey returns a fresh RSA key for signing tokens.
func GenerateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, minKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	return k, nil
}

// LoadKey reads an RSA private key from a PEM file (PKCS #1 "RSA PRIVATE
// KEY" or PKCS #8 "PRIVATE KEY", as openssl genrsa and genpkey write).
func LoadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return k, nil
}

func parseKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var k *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		var err error
		if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return nil, fmt.Errorf("parse PKCS #1 key: %w", err)
		}
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS #8 key: %w", err)
		}
		var ok bool
		if k, ok = parsed.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("a %T key, want RSA (tokens are signed RS256)", parsed)
		}
	default:
		return nil, fmt.Errorf("PEM block %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if k.N.BitLen() < minKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits, want at least %d", k.N.BitLen(), minKeyBits)
	}
	return k, nil
}

// signingKey is the provider's one key. Its key id is the RFC 7638
// thumbprint of the public key, so a key loaded from a file keeps its kid
// across restarts and relying parties' cached key sets stay valid.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func newSigningKey(k *rsa.PrivateKey) (*signingKey, error) {
	thumb, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), key: k}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the signing key as the JWKS endpoint publishes it.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

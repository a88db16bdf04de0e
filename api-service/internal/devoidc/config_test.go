package devoidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"mailing/api-service/internal/devoidc"
	"mailing/shared/logging"
	"mailing/shared/testkit"
)

func TestIssuerRules(t *testing.T) {
	for _, c := range []struct {
		issuer   string
		insecure bool
		fail     string // part of the error; "" for none
		warn     bool
	}{
		{issuer: "http://localhost:8091/", warn: true},
		{issuer: "http://127.0.0.1:8091", warn: true},
		{issuer: "http://[::1]:8091/", warn: true},
		{issuer: "https://tenant.auth0.example/"},
		{issuer: "https://sso.example/realms/mailing"},
		{issuer: "http://dev-oidc:8091/", fail: "DEV_OIDC_INSECURE=true"},
		{issuer: "http://dev-oidc:8091/", insecure: true, warn: true},
		{issuer: "localhost:8091", fail: "absolute http or https"},
		{issuer: "", fail: "absolute http or https"},
		{issuer: "https://sso.example/?tenant=x", fail: "no query"},
	} {
		var out testkit.Log
		log, err := logging.New(&out, "info", "json", "dev-oidc")
		if err != nil {
			t.Fatal(err)
		}
		_, err = devoidc.New(devoidc.Config{Issuer: c.issuer, Insecure: c.insecure, Directory: directory(), Key: sharedKey(), Log: log})
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("%q: %v", c.issuer, err)
		case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail)):
			t.Errorf("%q: error %v, want one saying %q", c.issuer, err, c.fail)
		}
		if warned := strings.Contains(out.String(), `"level":"WARN"`); warned != c.warn {
			t.Errorf("%q: warned %v, want %v:\n%s", c.issuer, warned, c.warn, out.String())
		}
	}
}

func TestDirectory(t *testing.T) {
	good := `{"users": [{"username": "a", "password": "p", "email": "a@x.test", "groups": ["g"]}],
		"clients": [{"id": "c", "secret": "s", "redirect_uris": ["http://localhost/cb"]}]}`
	if _, err := devoidc.ParseDirectory([]byte(good)); err != nil {
		t.Fatalf("a good directory: %v", err)
	}
	for name, c := range map[string]struct{ json, want string }{
		"unknown field": {strings.Replace(good, `"redirect_uris"`, `"redirect_uri"`, 1), `unknown field "redirect_uri"`},
		"not JSON":      {`users:`, "decode"},
		"empty":         {`{}`, "no users"},
		"every problem": {`{"users": [
			{"username": "a:b", "password": "", "email": "nobody"},
			{"username": "x", "password": "p", "email": "x@x.test"},
			{"username": "x", "password": "p", "email": "x@x.test"}],
			"clients": [{"id": "c", "redirect_uris": ["/relative"]}, {"id": "c", "redirect_uris": []},
				{"id": "d", "redirect_uris": ["https://x.test/cb#frag"], "post_logout_redirect_uris": ["http:///"]}]}`,
			"contains a colon|password is empty|not an address|\"x\" appears twice|is not absolute|id \"c\" appears twice|no redirect_uris|has a fragment|has no host"},
	} {
		_, err := devoidc.ParseDirectory([]byte(c.json))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, part := range strings.Split(c.want, "|") {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: the error does not say %q:\n%v", name, part, err)
			}
		}
	}
}

// TestShippedDirectory keeps deploy/dev-oidc/users.json loadable and as
// docs/dev-oidc.md describes it.
func TestShippedDirectory(t *testing.T) {
	d, err := devoidc.LoadDirectory(filepath.Join("..", "..", "..", "deploy", "dev-oidc", "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	groups := make(map[string][]string)
	for _, u := range d.Users {
		groups[u.Username] = u.Groups
	}
	want := map[string][]string{"admin": {"mailing-admins"}, "operator": {"mailing-operators"}, "viewer": {"mailing-viewers"}}
	if len(groups) != len(want) {
		t.Errorf("users %v, want %v", groups, want)
	}
	for name, g := range want {
		if !slices.Equal(groups[name], g) {
			t.Errorf("%s is in %v, want %v", name, groups[name], g)
		}
	}
	if len(d.Clients) != 1 || d.Clients[0].ID != "mailing-api" || d.Clients[0].Secret == "" ||
		!slices.Equal(d.Clients[0].RedirectURIs, []string{"http://localhost:8080/auth/oidc/callback"}) ||
		!slices.Equal(d.Clients[0].PostLogoutRedirectURIs, []string{"http://localhost:8080/"}) {
		t.Errorf("clients: %+v", d.Clients)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	k := sharedKey()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		write("pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)),
		write("pkcs8.pem", "PRIVATE KEY", pkcs8),
	} {
		got, err := devoidc.LoadKey(path)
		if err != nil || !got.Equal(k) {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		write("ec.pem", "PRIVATE KEY", ecDER):                                     "want RSA",
		write("short.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(short)): "1024 bits",
		write("cert.pem", "CERTIFICATE", []byte{1}):                               "want RSA PRIVATE KEY or PRIVATE KEY",
		filepath.Join(dir, "missing.pem"):                                         "no such file",
	} {
		if _, err := devoidc.LoadKey(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", filepath.Base(path), err, want)
		}
	}
}

// jwks fetches the provider's published keys.
func (b *bundle) jwks() jose.JSONWebKeySet {
	b.t.Helper()
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := b.provider.Claims(&disc); err != nil {
		b.t.Fatal(err)
	}
	resp, err := http.Get(disc.JWKS)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		b.t.Fatalf("JWKS %s: %v", raw, err)
	}
	return set
}

// TestForeignSignatureIsRefused signs ID tokens with valid claims itself:
// with the provider's key go-oidc accepts them, with any other key it
// refuses them, even under the provider's key id.
func TestForeignSignatureIsRefused(t *testing.T) {
	b := setup(t)
	set := b.jwks()
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || !set.Keys[0].Valid() {
		t.Fatalf("JWKS: %+v", set.Keys)
	}
	pub, ok := set.Keys[0].Key.(*rsa.PublicKey)
	if !ok || !pub.Equal(&sharedKey().PublicKey) {
		t.Fatalf("the JWKS does not publish the provider's key: %T", set.Keys[0].Key)
	}
	kid := set.Keys[0].KeyID

	claims, err := json.Marshal(map[string]any{
		"iss": b.issuer, "aud": webID, "sub": "alice", "nonce": "n",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "groups": []string{"mailing-admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *rsa.PrivateKey, kid string) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: &jose.JSONWebKey{Key: k, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if _, err := b.verifier().Verify(b.ctx, sign(sharedKey(), kid)); err != nil {
		t.Fatalf("claims signed with the provider's key are refused, so the test proves nothing: %v", err)
	}
	other, err := devoidc.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{kid, "", "another"} {
		if _, err := b.verifier().Verify(b.ctx, sign(other, id)); err == nil {
			t.Errorf("a token signed with another key (kid %q) verifies", id)
		}
	}
}

// TestKeyIDIsStable: a provider restarted with the same key publishes the
// same key id, so relying parties' cached key sets stay valid.
func TestKeyIDIsStable(t *testing.T) {
	a, b := setup(t).jwks(), setup(t).jwks()
	if a.Keys[0].KeyID == "" || a.Keys[0].KeyID != b.Keys[0].KeyID {
		t.Errorf("key ids %q and %q for the same key", a.Keys[0].KeyID, b.Keys[0].KeyID)
	}
}

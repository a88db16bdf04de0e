package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"mailing/api-service/internal/devoidc"
	"mailing/shared/testkit"
)

const users = `{"users": [{"username": "ops", "password": "ops-pass", "email": "ops@x.test", "groups": ["mailing-operators"]}],
	"clients": [{"id": "app", "secret": "s", "redirect_uris": ["http://localhost:8080/cb"]}]}`

// TestRun starts the command on a free port with a users file and a key
// file, discovers it as a relying party does, and stops it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	usersPath := filepath.Join(dir, "users.json")
	if err := os.WriteFile(usersPath, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := devoidc.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "key.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyPath, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	env := testkit.Env(map[string]string{
		"DEV_OIDC_ADDR": "127.0.0.1:0", "DEV_OIDC_USERS": usersPath, "DEV_OIDC_KEY": keyPath, "LOG_LEVEL": "debug",
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, env, pw); _ = pw.Close() }()
	lines := make(chan map[string]any, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				t.Errorf("not a JSON log line: %s", sc.Bytes())
				continue
			}
			lines <- l
		}
	}()
	listening := waitFor(t, lines, "listening")
	addr, _ := listening["addr"].(string)
	issuer, _ := listening["issuer"].(string)
	_, port, _ := strings.Cut(addr, ":")
	// Unset, the issuer is localhost and the port listened on.
	if want := "http://localhost:" + port + "/"; issuer != want {
		t.Fatalf("issuer %q, want %q", issuer, want)
	}

	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := provider.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(disc.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v %+v", err, set)
	}
	if pub, ok := set.Keys[0].Key.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		t.Error("the JWKS does not publish the key of DEV_OIDC_KEY")
	}
	if l := waitFor(t, lines, "request"); l["path"] != "/.well-known/openid-configuration" || l["level"] != "DEBUG" {
		t.Errorf("first request line: %v", l)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	waitFor(t, lines, "stopped")
}

func TestRunRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	usersPath := filepath.Join(dir, "users.json")
	if err := os.WriteFile(usersPath, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	for want, vars := range map[string]map[string]string{
		"DEV_OIDC_INSECURE=\"maybe\"": {"DEV_OIDC_INSECURE": "maybe"},
		"DEV_OIDC_USERS":              {"DEV_OIDC_USERS": filepath.Join(dir, "missing.json")},
		"DEV_OIDC_KEY":                {"DEV_OIDC_USERS": usersPath, "DEV_OIDC_KEY": filepath.Join(dir, "missing.pem")},
		"DEV_OIDC_INSECURE=true": {"DEV_OIDC_USERS": usersPath, "DEV_OIDC_ADDR": "127.0.0.1:0",
			"DEV_OIDC_ISSUER": "http://dev-oidc:8091/"},
	} {
		err := run(context.Background(), testkit.Env(vars), io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want an error naming %s", vars, err, want)
		}
	}
}

// waitFor returns the next log line with the message msg.
func waitFor(t *testing.T, lines <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the log ended before %q", msg)
			}
			if l["msg"] == msg {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q log line", msg)
		}
	}
}

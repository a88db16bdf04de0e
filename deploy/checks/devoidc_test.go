package checks

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// The API's sign-in through the development OpenID Provider, in both ways
// of running the system: docker compose and make run. The settings the API
// is given must be those of a client of deploy/dev-oidc/users.json, at the
// issuer the provider announces, or every sign-in fails at the provider.

const devUsersFile = "deploy/dev-oidc/users.json"

// devDirectory is the part of the users file these checks read.
type devDirectory struct {
	Users []struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		Groups   []string `json:"groups"`
	} `json:"users"`
	Clients []devClient `json:"clients"`
}

type devClient struct {
	ID                     string   `json:"id"`
	Secret                 string   `json:"secret"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
}

func readDevDirectory(t testing.TB, rel string) devDirectory {
	t.Helper()
	var d devDirectory
	if err := json.Unmarshal(readRepoFile(t, rel), &d); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(d.Users) == 0 || len(d.Clients) == 0 {
		t.Fatalf("%s: no users or no clients", rel)
	}
	return d
}

// apiRoles are the roles OIDC_ROLE_MAP may give.
var apiRoles = []string{"admin", "operator", "viewer"}

// checkDevClient checks the API's OIDC_* settings (get) against the users
// file: the client and its secret, the redirect URIs registered for it, and
// a role for every user of the file.
func checkDevClient(t *testing.T, where string, get func(string) string, dir devDirectory) {
	t.Helper()
	if get("OIDC_ISSUER") == "" {
		t.Errorf("%s: no OIDC_ISSUER: OpenID sign-in is off", where)
		return
	}
	var c *devClient
	for i := range dir.Clients {
		if dir.Clients[i].ID == get("OIDC_CLIENT_ID") {
			c = &dir.Clients[i]
		}
	}
	if c == nil {
		t.Errorf("%s: OIDC_CLIENT_ID %q is no client of %s", where, get("OIDC_CLIENT_ID"), devUsersFile)
		return
	}
	if get("OIDC_CLIENT_SECRET") != c.Secret {
		t.Errorf("%s: OIDC_CLIENT_SECRET is not the secret of client %s in %s", where, c.ID, devUsersFile)
	}
	if !slices.Contains(c.RedirectURIs, get("OIDC_REDIRECT_URL")) {
		t.Errorf("%s: OIDC_REDIRECT_URL %q is not a redirect URI of client %s (%v)", where, get("OIDC_REDIRECT_URL"), c.ID, c.RedirectURIs)
	}
	// Unset, the API sends the browser back to the root of the callback's site.
	back := get("OIDC_POST_LOGOUT_REDIRECT_URL")
	if back == "" {
		if u, err := url.Parse(get("OIDC_REDIRECT_URL")); err == nil {
			back = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
		}
	}
	if !slices.Contains(c.PostLogoutRedirectURIs, back) {
		t.Errorf("%s: the post-logout redirect %q is not registered for client %s (%v)", where, back, c.ID, c.PostLogoutRedirectURIs)
	}
	roles := roleMap(t, where, get("OIDC_ROLE_MAP"))
	for _, u := range dir.Users {
		if userRole(roles, u.Groups) == "" {
			t.Errorf("%s: OIDC_ROLE_MAP gives %s (groups %v) no role: that account cannot sign in", where, u.Username, u.Groups)
		}
	}
}

// roleMap parses OIDC_ROLE_MAP ("group=role,...").
func roleMap(t *testing.T, where, raw string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		group, role, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || group == "" || !slices.Contains(apiRoles, role) {
			t.Errorf("%s: OIDC_ROLE_MAP %q: %q is not group=role with a role of %v", where, raw, pair, apiRoles)
			continue
		}
		m[group] = role
	}
	return m
}

func userRole(roles map[string]string, groups []string) string {
	for _, g := range groups {
		if r := roles[g]; r != "" {
			return r
		}
	}
	return ""
}

func TestComposeSignsInThroughDevOIDC(t *testing.T) {
	p := loadCompose(t, nil)
	api, op := service(t, p, "api"), service(t, p, "dev-oidc")
	get := func(name string) string { return env(api, name) }
	checkDevClient(t, composeFile+" api", get, readDevDirectory(t, devUsersFile))

	if op.Build == nil || op.Build.Target != "dev-oidc" {
		t.Error("dev-oidc: want the dev-oidc target of " + dockerfilePath)
	}
	port := targetPorts["dev-oidc"]
	if addr := env(op, "DEV_OIDC_ADDR"); addr != ":"+port {
		t.Errorf("dev-oidc listens on %q, want :%s", addr, port)
	}
	issuer := env(op, "DEV_OIDC_ISSUER")
	if get("OIDC_ISSUER") != issuer {
		t.Errorf("api: OIDC_ISSUER %q is not dev-oidc's DEV_OIDC_ISSUER %q", get("OIDC_ISSUER"), issuer)
	}
	// Browsers follow the issuer's URLs: its port is published as is.
	iu, err := url.Parse(issuer)
	if err != nil || iu.Port() == "" {
		t.Fatalf("dev-oidc: DEV_OIDC_ISSUER %q has no port", issuer)
	}
	if !publishesAs(op, port, iu.Port()) {
		t.Errorf("dev-oidc: DEV_OIDC_ISSUER %s is not reached through a published port %s:%s", issuer, iu.Port(), port)
	}
	// The provider refuses a plain http issuer on another host unless told.
	if ip := net.ParseIP(iu.Hostname()); iu.Scheme == "http" && iu.Hostname() != "localhost" &&
		(ip == nil || !ip.IsLoopback()) && env(op, "DEV_OIDC_INSECURE") != "true" {
		t.Errorf("dev-oidc: the http issuer %s needs DEV_OIDC_INSECURE=true", issuer)
	}
	// The API in its container reaches the provider by the service name.
	checkURL(t, "OIDC_PROVIDER_URL", get("OIDC_PROVIDER_URL"), "dev-oidc", port, "", "", "")
	// The callback is on the API's published port.
	ru, err := url.Parse(get("OIDC_REDIRECT_URL"))
	if err != nil || !publishesAs(api, targetPorts["api"], ru.Port()) {
		t.Errorf("api: OIDC_REDIRECT_URL %q is not on the API's published port", get("OIDC_REDIRECT_URL"))
	}
}

// publishesAs tells whether s publishes its port target on the host port
// published.
func publishesAs(s types.ServiceConfig, target, published string) bool {
	for _, p := range s.Ports {
		if strconv.FormatUint(uint64(p.Target), 10) == target && p.Published == published {
			return true
		}
	}
	return false
}

// TestMakeRunSignsInThroughDevOIDC: make run gives the API (and only it)
// the settings of DEV_OIDC_ENV, which must fit the users file that dev-oidc
// reads by default, at the issuer browsers see in compose too.
func TestMakeRunSignsInThroughDevOIDC(t *testing.T) {
	makefile := strings.ReplaceAll(string(readRepoFile(t, "Makefile")), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^DEV_OIDC_ENV\s*:?=(.*)$`).FindStringSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile defines no DEV_OIDC_ENV")
	}
	vars := map[string]string{}
	for _, f := range strings.Fields(m[1]) {
		k, v, _ := strings.Cut(f, "=")
		vars[k] = v
	}
	checkDevClient(t, "Makefile DEV_OIDC_ENV", func(name string) string { return vars[name] }, readDevDirectory(t, devUsersFile))
	if op := service(t, loadCompose(t, nil), "dev-oidc"); vars["OIDC_ISSUER"] != env(op, "DEV_OIDC_ISSUER") {
		t.Errorf("make run signs in at %q, docker compose at %q", vars["OIDC_ISSUER"], env(op, "DEV_OIDC_ISSUER"))
	}
	var apiLine, workerLine string
	for _, line := range strings.Split(string(readRepoFile(t, "Makefile")), "\n") {
		switch {
		case strings.Contains(line, "bin/api &"):
			apiLine = line
		case strings.Contains(line, "bin/worker &"):
			workerLine = line
		}
	}
	if apiLine == "" || workerLine == "" {
		t.Fatal("make run starts no bin/api or no bin/worker in the background")
	}
	if !strings.Contains(apiLine, "$(DEV_OIDC_ENV)") {
		t.Errorf("make run starts the API without $(DEV_OIDC_ENV): %q", strings.TrimSpace(apiLine))
	}
	if strings.Contains(workerLine, "$(DEV_OIDC_ENV)") {
		t.Errorf("make run gives the worker $(DEV_OIDC_ENV), which it does not read: %q", strings.TrimSpace(workerLine))
	}
}

// TestComposeDevOIDCSignsTheAPIIn runs the dev-oidc binary of the build
// stage as the compose service runs it (the image's ENV, the service's
// environment, the users file the image copies in), answers its
// healthcheck, and signs every user of the file in with the API's client,
// as a browser and the API do, down to the token exchange.
func TestComposeDevOIDCSignsTheAPIIn(t *testing.T) {
	p := loadCompose(t, nil)
	api, op := service(t, p, "api"), service(t, p, "dev-oidc")
	img := parseDockerfile(t).effective(t, "dev-oidc")
	vars := maps.Clone(img.env)
	for k, v := range op.Environment {
		if v != nil {
			vars[k] = *v
		}
	}
	users, ok := img.fromContext[vars["DEV_OIDC_USERS"]]
	if !ok {
		t.Fatalf("dev-oidc: DEV_OIDC_USERS %q is not a file the image copies in (%v)", vars["DEV_OIDC_USERS"], img.fromContext)
	}
	vars["DEV_OIDC_USERS"], vars["DEV_OIDC_ADDR"], vars["LOG_FORMAT"] = repoPath(t, users), "127.0.0.1:0", "json"
	base := startDevOIDC(t, vars)

	hc := op.HealthCheck
	if hc == nil || !slices.Contains(hc.Test, "-path") {
		t.Fatal("dev-oidc: the healthcheck names no -path")
	}
	path := hc.Test[slices.Index(hc.Test, "-path")+1]
	if code := httpStatus(t, base+path); code != http.StatusOK {
		t.Errorf("dev-oidc: the healthcheck's %s answers %d, want 200", path, code)
	}
	issuer := env(api, "OIDC_ISSUER")
	var disc struct{ Issuer string }
	getJSON(t, base+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != issuer {
		t.Errorf("dev-oidc announces the issuer %q; the API expects %q", disc.Issuer, issuer)
	}
	roles := roleMap(t, "api", env(api, "OIDC_ROLE_MAP"))
	for _, u := range readDevDirectory(t, users).Users {
		claims := devSignIn(t, base, func(name string) string { return env(api, name) }, u.Username, u.Password)
		if claims.Issuer != issuer || !slices.Contains(claims.Audience, env(api, "OIDC_CLIENT_ID")) || claims.Subject != u.Username {
			t.Errorf("%s: ID token iss %q aud %v sub %q, want %q, %q, %q", u.Username,
				claims.Issuer, claims.Audience, claims.Subject, issuer, env(api, "OIDC_CLIENT_ID"), u.Username)
		}
		if userRole(roles, claims.Groups) == "" {
			t.Errorf("%s: the groups %v of the ID token give no role", u.Username, claims.Groups)
		}
	}
}

// startDevOIDC runs the build stage's dev-oidc with exactly vars and
// returns its base URL; it is stopped when t ends.
func startDevOIDC(t *testing.T, vars map[string]string) string {
	t.Helper()
	bin := ""
	stage := replayStage(t, "build")
	for out := range stage.builds {
		if strings.HasSuffix(out, "/dev-oidc") {
			bin = stage.host(out)
		}
	}
	if bin == "" {
		t.Fatal("the build stage builds no dev-oidc")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dev-oidc: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		defer close(addr)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("dev-oidc exited before listening: %s", stderr.String())
		}
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("dev-oidc did not report its address")
		return ""
	}
}

type idClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Groups   []string `json:"groups"`
}

// audience is "aud": one string or a list of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// devSignIn runs the authorization code flow with PKCE for one user, with
// the API's client settings (get), and returns the ID token's claims. The
// provider's redirects name the issuer's host, which is sent to base.
func devSignIn(t *testing.T, base string, get func(string) string, username, password string) idClaims {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	issuer, _ := url.Parse(get("OIDC_ISSUER"))
	local := func(loc string) string {
		u, err := url.Parse(loc)
		if err != nil || u.Host != issuer.Host {
			t.Fatalf("%s: redirected to %q, not to the issuer's host %s", username, loc, issuer.Host)
		}
		return base + u.RequestURI()
	}
	step := func(method, target string, form url.Values, want int) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if strings.HasSuffix(target, "/oauth/token") {
			req.SetBasicAuth(url.QueryEscape(get("OIDC_CLIENT_ID")), url.QueryEscape(get("OIDC_CLIENT_SECRET")))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %s %s: %v", username, method, target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %s %s answers %d, want %d: %s", username, method, target, resp.StatusCode, want, body)
		}
		return resp, string(body)
	}

	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	state := rand.Text()
	q := url.Values{"client_id": {get("OIDC_CLIENT_ID")}, "redirect_uri": {get("OIDC_REDIRECT_URL")},
		"response_type": {"code"}, "scope": {"openid email profile"}, "state": {state}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, _ := step(http.MethodGet, base+"/authorize?"+q.Encode(), nil, http.StatusFound)
	formURL := local(resp.Header.Get("Location"))
	_, page := step(http.MethodGet, formURL, nil, http.StatusOK)
	action := formAction.FindStringSubmatch(page)
	if action == nil {
		t.Fatalf("%s: no login form at %s", username, formURL)
	}
	fu, _ := url.Parse(formURL)
	au, _ := url.Parse(action[1])
	form := url.Values{"username": {username}, "password": {password}}
	for _, f := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Set(f[1], f[2])
	}
	resp, _ = step(http.MethodPost, fu.ResolveReference(au).String(), form, http.StatusSeeOther)
	resp, _ = step(http.MethodGet, local(resp.Header.Get("Location")), nil, http.StatusFound)

	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), get("OIDC_REDIRECT_URL")+"?") || back.Query().Get("state") != state {
		t.Fatalf("%s: sent back to %q, want OIDC_REDIRECT_URL with the state", username, resp.Header.Get("Location"))
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {get("OIDC_REDIRECT_URL")}, "code_verifier": {verifier}}
	_, body := step(http.MethodPost, base+"/oauth/token", exchange, http.StatusOK)
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(body), &tokens); err != nil {
		t.Fatalf("%s: token response: %v", username, err)
	}
	parts := strings.Split(tokens.IDToken, ".")
	var claims idClaims
	if len(parts) != 3 {
		t.Fatalf("%s: the ID token is not a JWS", username)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("%s: the ID token's claims do not decode", username)
	}
	return claims
}

func httpStatus(t *testing.T, target string) int {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func getJSON(t *testing.T, target string, v any) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", target, resp.StatusCode, err)
	}
}

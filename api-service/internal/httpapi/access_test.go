package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/testkit"
)

// call sends a request with credential (a token, a key, or "" for none)
// to the server at base ("" for the bundle's) and returns the status and
// the decoded JSON answer.
func (b *bundle) call(base, credential, method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	if base == "" {
		base = b.srv.URL
	}
	resp, raw := b.rawAt(base, method, path, body, "application/json", credential)
	var out map[string]any
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// as sends a request with credential to the bundle's server and fails the
// test unless the status is want.
func (b *bundle) as(credential string, want int, method, path string, body any) map[string]any {
	b.t.Helper()
	got, out := b.call("", credential, method, path, body)
	if got != want {
		b.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, out)
	}
	return out
}

// userWithRole stores a user of role without going through bcrypt and
// returns it with a token.
func (b *bundle) userWithRole(name string, role domain.Role) (domain.User, string) {
	b.t.Helper()
	u, err := postgres.NewUsers(b.db).Create(context.Background(), domain.User{Username: name, Role: role}, "!")
	if err != nil {
		b.t.Fatal(err)
	}
	return u, b.tokenOf(u)
}

// newKey creates an API key through the API and returns its answer.
func (b *bundle) newKey(name string, role domain.Role, expires *time.Time) map[string]any {
	b.t.Helper()
	body := map[string]any{"name": name, "role": role}
	if expires != nil {
		body["expires_at"] = expires.Format(time.RFC3339Nano)
	}
	return b.must(http.StatusCreated, "POST", "/api/keys", body)
}

var pathParam = regexp.MustCompile(`:[a-z_]+`)

// TestEveryAPIRouteHasARole walks the routes the server answers — not a
// list kept by hand — for every role, as a user and as a key, and without
// credentials: a route missing from the role table fails, as does a role
// let through below the route's least role or kept out above it.
func TestEveryAPIRouteHasARole(t *testing.T) {
	b := setup(t)
	type caller struct {
		name, credential string
		role             domain.Role
	}
	callers := []caller{{name: "no credentials"}}
	for _, role := range domain.Roles {
		_, tok := b.userWithRole("user-"+string(role), role)
		key := b.newKey("key-"+string(role), role, nil)
		callers = append(callers,
			caller{name: string(role) + " user", credential: tok, role: role},
			caller{name: string(role) + " key", credential: key["secret"].(string), role: role})
	}
	var walked int
	for _, r := range b.api.Routes() {
		if r.Path != "/api" && !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		walked++
		if r.Role == "" {
			t.Errorf("%s %s is missing from the role table in routes.go", r.Method, r.Path)
			continue
		}
		// Ids nothing has: no call changes what the next one sees.
		path := pathParam.ReplaceAllString(r.Path, "999999")
		for _, c := range callers {
			status, out := b.call("", c.credential, r.Method, path, map[string]any{})
			switch {
			case c.credential == "":
				if status != http.StatusUnauthorized {
					t.Errorf("%s %s without credentials: %d, want 401", r.Method, r.Path, status)
				}
			case !c.role.Includes(r.Role):
				if status != http.StatusForbidden {
					t.Errorf("%s %s as %s (needs %s): %d, want 403: %v", r.Method, r.Path, c.name, r.Role, status, out)
					continue
				}
				wantError(t, out, "forbidden")
			default:
				if status == http.StatusUnauthorized || status == http.StatusForbidden {
					t.Errorf("%s %s as %s (needs %s): refused with %d: %v", r.Method, r.Path, c.name, r.Role, status, out)
				}
			}
		}
	}
	if walked < 45 {
		t.Fatalf("walked %d /api routes; the server answers more", walked)
	}
}

func TestUserManagement(t *testing.T) {
	b := setup(t)
	created := b.must(http.StatusCreated, "POST", "/api/users", map[string]any{
		"username": "maria", "password": "a long pass phrase", "role": "operator", "display_name": " Maria Petrova ",
	})
	if created["username"] != "maria" || created["role"] != "operator" || created["display_name"] != "Maria Petrova" ||
		created["disabled"] != false || created["disabled_at"] != nil || created["password_changed_at"] == nil {
		t.Fatalf("created user %v", created)
	}
	if _, leaked := created["password"]; leaked || strings.Contains(b.logs.String(), "a long pass phrase") {
		t.Fatal("the password is in the answer or the logs")
	}
	maria := id(t, created)

	// Rules: unique names, known roles, passwords of 12 characters to 72
	// bytes, no server-owned or unknown fields.
	for name, tc := range map[string]struct {
		body         map[string]any
		status       int
		field, value string
	}{
		"taken name":       {map[string]any{"username": "maria", "password": "another long one", "role": "viewer"}, 409, "", ""},
		"short password":   {map[string]any{"username": "ivan", "password": "elevenchars", "role": "viewer"}, 400, "password", "must be at least 12 characters"},
		"long password":    {map[string]any{"username": "ivan", "password": strings.Repeat("p", 73), "role": "viewer"}, 400, "password", "must be at most 72 bytes"},
		"unknown role":     {map[string]any{"username": "ivan", "password": "a long pass phrase", "role": "root"}, 400, "role", "must be one of viewer, operator, admin"},
		"no role":          {map[string]any{"username": "ivan", "password": "a long pass phrase"}, 400, "role", "is required"},
		"space in name":    {map[string]any{"username": "iv an", "password": "a long pass phrase", "role": "viewer"}, 400, "username", "must not contain spaces or control characters"},
		"server-owned id":  {map[string]any{"id": 5, "username": "ivan", "password": "a long pass phrase", "role": "viewer"}, 400, "id", "is set by the server and cannot be given"},
		"unknown field":    {map[string]any{"username": "ivan", "password": "a long pass phrase", "role": "viewer", "admin": true}, 400, "admin", "unknown field"},
		"generation field": {map[string]any{"username": "ivan", "password": "a long pass phrase", "role": "viewer", "generation": 9}, 400, "generation", "unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			status, out := b.do("POST", "/api/users", tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if tc.field != "" {
				if fields := wantError(t, out, "invalid"); fields[tc.field] != tc.value {
					t.Fatalf("fields %v, want %s: %s", fields, tc.field, tc.value)
				}
			}
		})
	}

	// The new user signs in and acts with its role.
	resp, tokOut := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a long pass phrase"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %v", resp.StatusCode, tokOut)
	}
	tok := tokOut["access_token"].(string)
	b.as(tok, http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": "916"})
	b.as(tok, http.StatusForbidden, "GET", "/api/users", nil)

	list := items(t, b.must(http.StatusOK, "GET", "/api/users?limit=1", nil))
	if len(list) != 1 || id(t, list[0]) != b.admin.ID {
		t.Fatalf("first page %v", list)
	}
	page := b.must(http.StatusOK, "GET", "/api/users?limit=1&after="+itoa(b.admin.ID), nil)
	if l := items(t, page); len(l) != 1 || id(t, l[0]) != maria || page["next"] != nil {
		t.Fatalf("second page %v", page)
	}
	if got := b.must(http.StatusOK, "GET", "/api/users/"+itoa(maria), nil); got["username"] != "maria" {
		t.Fatalf("get %v", got)
	}
	b.must(http.StatusNotFound, "GET", "/api/users/999", nil)

	// A new role refuses her token at once; she logs in again.
	changed := b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(maria), map[string]any{"role": "viewer", "display_name": "M. Petrova"})
	if changed["role"] != "viewer" || changed["display_name"] != "M. Petrova" {
		t.Fatalf("patched %v", changed)
	}
	wantError(t, b.as(tok, http.StatusUnauthorized, "GET", "/api", nil), "unauthorized")
	_, tokOut = postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a long pass phrase"))
	tok = tokOut["access_token"].(string)
	b.as(tok, http.StatusOK, "GET", "/api/phone_codes", nil)
	wantError(t, b.as(tok, http.StatusForbidden, "POST", "/api/phone_codes", map[string]any{"code": "917"}), "forbidden")
	// A display name alone refuses nothing.
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(maria), map[string]any{"display_name": "Maria"})
	b.as(tok, http.StatusOK, "GET", "/api", nil)

	// A reset password refuses the token; the old password no longer works.
	b.must(http.StatusBadRequest, "POST", "/api/users/"+itoa(maria)+"/password", map[string]any{"password": "short"})
	reset := b.must(http.StatusOK, "POST", "/api/users/"+itoa(maria)+"/password", map[string]any{"password": "a brand new pass phrase"})
	if reset["password_changed_at"] == created["password_changed_at"] {
		t.Fatalf("password_changed_at stayed %v", reset["password_changed_at"])
	}
	b.as(tok, http.StatusUnauthorized, "GET", "/api", nil)
	if resp, out := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a long pass phrase")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("old password: %d %v", resp.StatusCode, out)
	}
	_, tokOut = postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a brand new pass phrase"))
	tok = tokOut["access_token"].(string)
	b.as(tok, http.StatusOK, "GET", "/api", nil)

	// Disabled: the token is refused and she cannot log in; enabled again,
	// she can, but the old token stays refused.
	disabled := b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(maria), map[string]any{"disabled": true})
	if disabled["disabled"] != true || disabled["disabled_at"] == nil {
		t.Fatalf("disabled %v", disabled)
	}
	b.as(tok, http.StatusUnauthorized, "GET", "/api", nil)
	if resp, out := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a brand new pass phrase")); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("disabled login: %d %v", resp.StatusCode, out)
	}
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(maria), map[string]any{"disabled": false})
	b.as(tok, http.StatusUnauthorized, "GET", "/api", nil)
	if resp, _ := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "a brand new pass phrase")); resp.StatusCode != http.StatusOK {
		t.Fatalf("enabled login: %d", resp.StatusCode)
	}

	// The last admin cannot lock everyone out.
	wantError(t, b.must(http.StatusConflict, "PATCH", "/api/users/"+itoa(b.admin.ID), map[string]any{"role": "operator"}), "conflict")
	b.must(http.StatusConflict, "PATCH", "/api/users/"+itoa(b.admin.ID), map[string]any{"disabled": true})
	b.as(b.token, http.StatusOK, "GET", "/api/users", nil)

	// Every change is logged with who made it.
	var updates int
	for _, l := range b.logs.Lines(t) {
		if l["msg"] == "user updated" {
			updates++
			if l["actor"] != "user:"+itoa(b.admin.ID) || l["user_id"] != float64(maria) {
				t.Fatalf("change logged without its actor or user: %v", l)
			}
		}
	}
	if updates != 4 {
		t.Fatalf("%d user updates logged, want 4", updates)
	}
}

// TestChangesRefusedAtOnceOnAnotherReplica runs two API servers on one
// database, as two replicas: once a user is disabled, demoted or given a
// new password, or a key is revoked, through one of them, the very next
// request with the old credentials is refused by the other — which, in the
// steady state, answers from its cache without asking the database.
func TestChangesRefusedAtOnceOnAnotherReplica(t *testing.T) {
	b := setup(t)
	other, otherAuthn := b.server()
	replica := httptest.NewServer(other)
	t.Cleanup(replica.Close)
	testkit.Eventually(t, "both replicas listen for changes", 5*time.Second, func() bool {
		return b.authn.Listening() && otherAuthn.Listening()
	})
	onReplica := func(credential string, want int, method, path string) {
		t.Helper()
		if status, out := b.call(replica.URL, credential, method, path, nil); status != want {
			t.Fatalf("%s %s on the other replica: %d, want %d: %v", method, path, status, want, out)
		}
	}

	users := make(map[string]string) // name → token
	ids := make(map[string]int64)
	for _, name := range []string{"disabled", "demoted", "reset"} {
		u, tok := b.userWithRole(name, domain.RoleOperator)
		users[name], ids[name] = tok, u.ID
		onReplica(tok, http.StatusOK, "GET", "/api")
	}
	key := b.newKey("crm", domain.RoleOperator, nil)
	secret := key["secret"].(string)
	onReplica(secret, http.StatusOK, "GET", "/api")

	// The replica answers from its cache: a change made behind the
	// service's back, without its notification, is not seen.
	if _, err := b.db.SQL().Exec(`UPDATE api_keys SET role = 'viewer' WHERE id = $1`, id(t, key)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SQL().Exec(`UPDATE users SET role = 'viewer' WHERE id = $1`, ids["disabled"]); err != nil {
		t.Fatal(err)
	}
	onReplica(secret, http.StatusOK, "GET", "/api")
	onReplica(users["disabled"], http.StatusOK, "GET", "/api")

	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(ids["disabled"]), map[string]any{"disabled": true})
	onReplica(users["disabled"], http.StatusUnauthorized, "GET", "/api")
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(ids["demoted"]), map[string]any{"role": "viewer"})
	onReplica(users["demoted"], http.StatusUnauthorized, "GET", "/api")
	b.must(http.StatusOK, "POST", "/api/users/"+itoa(ids["reset"])+"/password", map[string]any{"password": "a brand new pass phrase"})
	onReplica(users["reset"], http.StatusUnauthorized, "GET", "/api")
	b.must(http.StatusNoContent, "DELETE", "/api/keys/"+itoa(id(t, key)), nil)
	onReplica(secret, http.StatusUnauthorized, "GET", "/api")
	// And on the replica that made the changes.
	for _, cred := range []string{users["disabled"], users["demoted"], users["reset"], secret} {
		b.as(cred, http.StatusUnauthorized, "GET", "/api", nil)
	}

	// A replica whose listener lost its connection drops its cache when it
	// reconnects: changes it could not hear are seen at once after that,
	// not at the end of the cache's 30 s.
	second := b.newKey("second", domain.RoleOperator, nil)
	secret = second["secret"].(string)
	onReplica(secret, http.StatusOK, "GET", "/api")
	if _, err := b.db.SQL().Exec(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, id(t, second)); err != nil {
		t.Fatal(err)
	}
	onReplica(secret, http.StatusOK, "GET", "/api") // cached, and nothing was announced
	if _, err := b.db.SQL().Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.ListenerApplicationName); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the reconnected replica refuses the key revoked while it was not listening", 5*time.Second, func() bool {
		status, _ := b.call(replica.URL, secret, "GET", "/api", nil)
		return status == http.StatusUnauthorized
	})
}

func TestAPIKeys(t *testing.T) {
	b := setup(t)
	created := b.newKey(" crm-sync ", domain.RoleViewer, nil)
	secret, _ := created["secret"].(string)
	prefix, _ := created["prefix"].(string)
	if !regexp.MustCompile(`^mk_live_[0-9a-f]{12}_[a-z2-7]{52}$`).MatchString(secret) || !strings.HasPrefix(secret, prefix+"_") || !auth.IsKey(secret) {
		t.Fatalf("secret %q, prefix %q", secret, prefix)
	}
	if created["name"] != "crm-sync" || created["role"] != "viewer" || created["revoked_at"] != nil ||
		created["expires_at"] != nil || created["last_used_at"] != nil || created["created_by"] != float64(b.admin.ID) {
		t.Fatalf("created key %v", created)
	}
	keyID := id(t, created)

	// The key works as a bearer credential, with its role.
	b.as(secret, http.StatusOK, "GET", "/api/customers", nil)
	wantError(t, b.as(secret, http.StatusForbidden, "POST", "/api/customers", map[string]any{"phone": "79161234567"}), "forbidden")
	b.as(secret, http.StatusForbidden, "GET", "/api/keys", nil)
	for name, bad := range map[string]string{
		"wrong secret":   secret[:len(secret)-4] + "aaaa",
		"unknown prefix": "mk_live_000000000000_" + secret[len(prefix)+1:],
		"malformed":      "mk_live_nonsense",
	} {
		if bad == secret {
			continue
		}
		if status, out := b.call("", bad, "GET", "/api", nil); status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %v", name, status, out)
		}
	}
	// An admin key manages keys; an operator key may not.
	admin := b.newKey("ops-robot", domain.RoleAdmin, nil)
	b.as(admin["secret"].(string), http.StatusOK, "GET", "/api/keys", nil)
	operator := b.newKey("importer", domain.RoleOperator, nil)
	b.as(operator["secret"].(string), http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": "916"})
	b.as(operator["secret"].(string), http.StatusForbidden, "POST", "/api/keys", map[string]any{"name": "x", "role": "admin"})
	if by := b.as(admin["secret"].(string), http.StatusCreated, "POST", "/api/keys", map[string]any{"name": "made by a key", "role": "viewer"}); by["created_by"] != nil {
		t.Fatalf("a key made by a key names a user: %v", by)
	}

	// Rules.
	past := time.Now().Add(-time.Minute)
	for name, tc := range map[string]struct {
		body         map[string]any
		field, value string
	}{
		"no name":      {map[string]any{"role": "viewer"}, "name", "is required"},
		"unknown role": {map[string]any{"name": "x", "role": "root"}, "role", "must be one of viewer, operator, admin"},
		"expired":      {map[string]any{"name": "x", "role": "viewer", "expires_at": past.Format(time.RFC3339)}, "expires_at", "must be in the future"},
		"secret given": {map[string]any{"name": "x", "role": "viewer", "secret": "mk_live_mine"}, "secret", "unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			if fields := wantError(t, b.must(http.StatusBadRequest, "POST", "/api/keys", tc.body), "invalid"); fields[tc.field] != tc.value {
				t.Fatalf("fields %v, want %s: %s", fields, tc.field, tc.value)
			}
		})
	}

	// Its use is recorded, off the request path.
	testkit.Eventually(t, "last_used_at is recorded", 5*time.Second, func() bool {
		for _, k := range items(t, b.must(http.StatusOK, "GET", "/api/keys", nil)) {
			if id(t, k) == keyID && k["last_used_at"] != nil {
				return true
			}
		}
		return false
	})

	// An expiring key works until its time, then is refused — also when
	// its lookup is cached.
	soon := time.Now().Add(1500 * time.Millisecond)
	expiring := b.newKey("temporary", domain.RoleViewer, &soon)
	b.as(expiring["secret"].(string), http.StatusOK, "GET", "/api", nil)
	testkit.Eventually(t, "the expired key is refused", 5*time.Second, func() bool {
		status, _ := b.call("", expiring["secret"].(string), "GET", "/api", nil)
		return status == http.StatusUnauthorized
	})

	// Revoked: refused at once, still listed with revoked_at; revoking
	// again changes nothing; an unknown key is 404.
	b.must(http.StatusNoContent, "DELETE", "/api/keys/"+itoa(keyID), nil)
	b.as(secret, http.StatusUnauthorized, "GET", "/api", nil)
	b.must(http.StatusNoContent, "DELETE", "/api/keys/"+itoa(keyID), nil)
	b.must(http.StatusNotFound, "DELETE", "/api/keys/999", nil)

	// Secrets are in no list and no log line, only in their creation's
	// answer.
	page := b.must(http.StatusOK, "GET", "/api/keys?limit=1", nil)
	if page["next"] == nil {
		t.Fatalf("first page of several keys has no next: %v", page)
	}
	all := b.must(http.StatusOK, "GET", "/api/keys?limit=1000", nil)
	raw, _ := json.Marshal(all)
	var revoked bool
	for _, k := range items(t, all) {
		if _, ok := k["secret"]; ok {
			t.Fatalf("a listed key has a secret: %v", k)
		}
		if id(t, k) == keyID {
			revoked = k["revoked_at"] != nil
		}
	}
	if !revoked {
		t.Fatal("the revoked key is not listed as revoked")
	}
	logs := b.logs.String()
	for _, s := range []string{secret, admin["secret"].(string), operator["secret"].(string), expiring["secret"].(string)} {
		random := s[len(prefix)+1:]
		if strings.Contains(string(raw), random) || strings.Contains(logs, random) {
			t.Fatalf("a key's secret is listed or logged")
		}
	}
	// The key's own requests are logged with it as actor.
	var byKey bool
	for _, l := range b.logs.Lines(t) {
		if l["msg"] == "http request" && l["actor"] == "key:"+itoa(keyID) {
			byKey = true
		}
	}
	if !byKey {
		t.Fatal("no request line names the key as actor")
	}
}

// TestSignInTellsNothingAboutUsernames: an unknown user, a wrong password
// and a disabled user get the same status and body, after the same
// bcrypt comparison.
func TestSignInTellsNothingAboutUsernames(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	hash, err := auth.HashPassword("mallory's pass phrase")
	if err != nil {
		t.Fatal(err)
	}
	users := postgres.NewUsers(b.db)
	disabled, err := users.Create(context.Background(), domain.User{Username: "mallory", Role: domain.RoleViewer}, hash)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := users.Update(context.Background(), disabled.ID, domain.UserChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	const form = "application/x-www-form-urlencoded"
	attempt := func(user, password string) (int, string, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, out := postToken(t, b.srv.URL, form, loginForm(user, password))
		elapsed := time.Since(start)
		raw, _ := json.Marshal(out)
		return resp.StatusCode, string(raw), elapsed
	}
	wrongStatus, wrongBody, _ := attempt(loginUser, "not the password at all")
	var wrong, unknown []time.Duration
	for range 3 {
		status, body, d := attempt(loginUser, "not the password at all")
		wrong = append(wrong, d)
		if status != wrongStatus || body != wrongBody {
			t.Fatalf("wrong password: %d %s", status, body)
		}
		status, body, d = attempt("nobody-"+itoa(int64(len(unknown))), "not the password at all")
		unknown = append(unknown, d)
		if status != wrongStatus || body != wrongBody {
			t.Fatalf("unknown user: %d %s, wrong password: %d %s", status, body, wrongStatus, wrongBody)
		}
	}
	if status, body, _ := attempt("mallory", "mallory's pass phrase"); status != wrongStatus || body != wrongBody {
		t.Fatalf("disabled user: %d %s, wrong password: %d %s", status, body, wrongStatus, wrongBody)
	}
	if wrongStatus != http.StatusBadRequest || !strings.Contains(wrongBody, `"invalid_grant"`) {
		t.Fatalf("refusal %d %s", wrongStatus, wrongBody)
	}
	// Without the dummy comparison an unknown user would answer a hundred
	// times sooner; the bound is loose enough for a busy machine.
	slices.Sort(wrong)
	slices.Sort(unknown)
	if unknown[1]*4 < wrong[1] {
		t.Fatalf("unknown users answer in %v, wrong passwords in %v: the time tells them apart", unknown, wrong)
	}
}

package domain

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRoleIncludes(t *testing.T) {
	want := map[[2]Role]bool{
		{RoleAdmin, RoleAdmin}: true, {RoleAdmin, RoleOperator}: true, {RoleAdmin, RoleViewer}: true,
		{RoleOperator, RoleAdmin}: false, {RoleOperator, RoleOperator}: true, {RoleOperator, RoleViewer}: true,
		{RoleViewer, RoleAdmin}: false, {RoleViewer, RoleOperator}: false, {RoleViewer, RoleViewer}: true,
	}
	for _, have := range Roles {
		for _, need := range Roles {
			if got := have.Includes(need); got != want[[2]Role{have, need}] {
				t.Errorf("%s includes %s = %v", have, need, got)
			}
		}
	}
	for _, bad := range []Role{"", "root", "Admin"} {
		if bad.Valid() || bad.Includes(RoleViewer) || RoleAdmin.Includes(bad) {
			t.Errorf("unknown role %q is valid, includes or is included", bad)
		}
	}
}

func TestActorID(t *testing.T) {
	p := Principal{Kind: PrincipalKey, ID: 7}
	if p.Actor() != "key:7" {
		t.Fatalf("actor %q", p.Actor())
	}
	kind, id, ok := ParseActorID("user:42")
	if !ok || kind != PrincipalUser || id != 42 {
		t.Fatalf("ParseActorID = %v %v %v", kind, id, ok)
	}
	for _, bad := range []string{"", "user", "user:", "user:0", "user:-1", "group:1", "user:1x", "key:1:2"} {
		if _, _, ok := ParseActorID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	ctx := WithPrincipal(context.Background(), p)
	if got, ok := PrincipalFrom(ctx); !ok || got != p {
		t.Fatalf("PrincipalFrom = %v %v", got, ok)
	}
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Fatal("a bare context carries a principal")
	}
}

func TestValidatePassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		strings.Repeat("a", 11):    false,
		strings.Repeat("a", 12):    true,
		strings.Repeat("a", 72):    true,
		strings.Repeat("a", 73):    false,
		strings.Repeat("я", 12):    true,  // 12 characters, 24 bytes
		strings.Repeat("я", 37):    false, // 74 bytes
		"":                         false,
		"short\xffbut long enough": false,
	} {
		if got := ValidatePassword(pw) == ""; got != ok {
			t.Errorf("ValidatePassword(%q) ok = %v, want %v", pw, got, ok)
		}
	}
}

func TestUserInputValidate(t *testing.T) {
	in := UserInput{Username: "maria", Password: "a long pass phrase", Role: RoleOperator, DisplayName: "  Maria  "}
	if err := in.Validate(); err != nil || in.DisplayName != "Maria" {
		t.Fatalf("valid input: %v, display name %q", err, in.DisplayName)
	}
	bad := UserInput{Username: "ma ria", Password: "short", Role: "root", DisplayName: "a\nb"}
	err := bad.Validate()
	fields := err.(*Error).Fields
	for _, f := range []string{"username", "password", "role", "display_name"} {
		if fields[f] == "" {
			t.Errorf("no problem reported for %s: %v", f, fields)
		}
	}
	if err := (&UserInput{Username: "x", Password: "a long pass phrase"}).Validate(); err == nil || err.(*Error).Fields["role"] != "is required" {
		t.Fatalf("missing role: %v", err)
	}
}

func TestUserChangeApply(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	u := User{ID: 1, Role: RoleOperator}
	role := func(r Role) *Role { return &r }
	yes, no := true, false
	name := "Maria"
	cases := []struct {
		name   string
		change UserChange
		refuse bool
	}{
		{"nothing", UserChange{}, false},
		{"same role", UserChange{Role: role(RoleOperator)}, false},
		{"new role", UserChange{Role: role(RoleViewer)}, true},
		{"promotion", UserChange{Role: role(RoleAdmin)}, true},
		{"display name", UserChange{DisplayName: &name}, false},
		{"disable", UserChange{Disabled: &yes}, true},
		{"enable an enabled user", UserChange{Disabled: &no}, false},
	}
	for _, tc := range cases {
		got, refuse := tc.change.Apply(u, now)
		if refuse != tc.refuse {
			t.Errorf("%s: refuse tokens = %v, want %v", tc.name, refuse, tc.refuse)
		}
		if tc.change.Disabled != nil && *tc.change.Disabled && (got.DisabledAt == nil || !got.DisabledAt.Equal(now) || !got.Disabled) {
			t.Errorf("%s: disabled %v at %v", tc.name, got.Disabled, got.DisabledAt)
		}
	}
	disabled := User{ID: 1, Role: RoleViewer, Disabled: true, DisabledAt: &now}
	got, refuse := UserChange{Disabled: &no}.Apply(disabled, now)
	if refuse || got.Disabled || got.DisabledAt != nil {
		t.Fatalf("enabling: refuse %v, disabled %v at %v", refuse, got.Disabled, got.DisabledAt)
	}
}

func TestAPIKeyInputAndUsable(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	in := APIKeyInput{Name: " crm ", Role: RoleViewer, ExpiresAt: &future}
	if err := in.Validate(now); err != nil || in.Name != "crm" {
		t.Fatalf("valid key: %v, name %q", err, in.Name)
	}
	err := (&APIKeyInput{Name: " ", Role: "x", ExpiresAt: &past}).Validate(now)
	if f := err.(*Error).Fields; f["name"] == "" || f["role"] == "" || f["expires_at"] == "" {
		t.Fatalf("bad key: %v", f)
	}
	for _, tc := range []struct {
		key    APIKey
		usable bool
	}{
		{APIKey{}, true},
		{APIKey{ExpiresAt: &future}, true},
		{APIKey{ExpiresAt: &now}, false},
		{APIKey{ExpiresAt: &past}, false},
		{APIKey{RevokedAt: &past}, false},
	} {
		if got := tc.key.Usable(now); got != tc.usable {
			t.Errorf("%+v usable = %v", tc.key, got)
		}
	}
}

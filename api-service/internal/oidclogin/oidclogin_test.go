package oidclogin

import (
	"testing"

	"mailing/shared/domain"
)

func TestRole(t *testing.T) {
	m, err := ParseRoleMap("mailing-admins=admin, mailing-operators=operator,mailing-viewers=viewer")
	if err != nil {
		t.Fatal(err)
	}
	rp := &RelyingParty{cfg: Config{RoleMap: m, AdminEmails: []string{"Boss@Corp.example"}, AllowedDomains: []string{"corp.example"}}}
	for _, tc := range []struct {
		id   Identity
		role domain.Role
	}{
		{Identity{Email: "boss@corp.example", EmailVerified: true}, domain.RoleAdmin},
		{Identity{Email: "boss@corp.example", EmailVerified: false}, ""}, // an unverified address proves nothing
		{Identity{Email: "a@corp.example", EmailVerified: true, Groups: []string{"mailing-viewers", "mailing-operators"}}, domain.RoleOperator},
		{Identity{Email: "a@corp.example", EmailVerified: true, Groups: []string{"staff"}}, ""},
		{Identity{Email: "a@other.example", EmailVerified: true, Groups: []string{"mailing-admins"}}, ""},
	} {
		got, ok := rp.Role(tc.id)
		if got != tc.role || ok != (tc.role != "") {
			t.Errorf("%+v: %q %v, want %q", tc.id, got, ok, tc.role)
		}
	}
	for _, bad := range []string{"x", "g=root", "=admin"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("ParseRoleMap(%q) accepted", bad)
		}
	}
}

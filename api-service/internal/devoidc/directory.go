package devoidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Directory is who may sign in and which applications may ask: the
// contents of the users file (DEV_OIDC_USERS).
type Directory struct {
	// Comment is free text for the file's readers; the provider ignores it.
	Comment string   `json:"_comment,omitempty"`
	Users   []User   `json:"users"`
	Clients []Client `json:"clients"`
}

// User is a person who can sign in. The password is kept in clear: the
// file holds public development values, never real ones.
type User struct {
	// Username is what the person types and also the subject ("sub") of
	// their tokens, so it must be stable.
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
	// EmailVerified defaults to true; false lets a relying party's
	// handling of unverified addresses be tried.
	EmailVerified *bool    `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
}

// Client is a relying party. Without a secret it is a public client, which
// must use PKCE with S256.
type Client struct {
	ID                     string   `json:"id"`
	Secret                 string   `json:"secret,omitempty"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
}

func (u User) emailVerified() bool { return u.EmailVerified == nil || *u.EmailVerified }

// LoadDirectory reads and checks a users file.
func LoadDirectory(path string) (Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Directory{}, fmt.Errorf("read users file: %w", err)
	}
	d, err := ParseDirectory(data)
	if err != nil {
		return Directory{}, fmt.Errorf("users file %s: %w", path, err)
	}
	return d, nil
}

// ParseDirectory decodes a users file and checks it. Unknown fields are
// refused, so a misspelt "redirect_uri" fails at start rather than as a
// refused sign-in later.
func ParseDirectory(data []byte) (Directory, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Directory
	if err := dec.Decode(&d); err != nil {
		return Directory{}, fmt.Errorf("decode: %w", err)
	}
	if err := d.Validate(); err != nil {
		return Directory{}, err
	}
	return d, nil
}

// Validate reports every problem of the directory at once.
func (d Directory) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(d.Users) == 0 {
		fail("no users")
	}
	if len(d.Clients) == 0 {
		fail("no clients")
	}
	seen := make(map[string]bool)
	for i, u := range d.Users {
		at := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Username == "":
			fail("%s: username is empty", at)
		case strings.TrimSpace(u.Username) != u.Username:
			fail("%s: username %q has leading or trailing spaces", at, u.Username)
		case strings.Contains(u.Username, ":"):
			// The username is the subject, and op's opaque access tokens
			// carry "token id:subject".
			fail("%s: username %q contains a colon", at, u.Username)
		case seen[u.Username]:
			fail("%s: username %q appears twice", at, u.Username)
		}
		seen[u.Username] = true
		if u.Password == "" {
			fail("%s (%s): password is empty", at, u.Username)
		}
		if !strings.Contains(u.Email, "@") {
			fail("%s (%s): email %q is not an address", at, u.Username, u.Email)
		}
		for _, g := range u.Groups {
			if g == "" {
				fail("%s (%s): empty group name", at, u.Username)
			}
		}
	}
	ids := make(map[string]bool)
	for i, c := range d.Clients {
		at := fmt.Sprintf("clients[%d]", i)
		switch {
		case c.ID == "":
			fail("%s: id is empty", at)
		case ids[c.ID]:
			fail("%s: id %q appears twice", at, c.ID)
		}
		ids[c.ID] = true
		if len(c.RedirectURIs) == 0 {
			fail("%s (%s): no redirect_uris", at, c.ID)
		}
		for _, u := range c.RedirectURIs {
			if p := checkRedirectURI(u); p != "" {
				fail("%s (%s): redirect_uris: %q %s", at, c.ID, u, p)
			}
		}
		for _, u := range c.PostLogoutRedirectURIs {
			if p := checkRedirectURI(u); p != "" {
				fail("%s (%s): post_logout_redirect_uris: %q %s", at, c.ID, u, p)
			}
		}
	}
	return errors.Join(errs...)
}

// checkRedirectURI returns what is wrong with a registered URI, or "".
// Redirect URIs are compared exactly, so they must be absolute.
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme == "":
		return "is not absolute"
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		return "has no host"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "has a fragment"
	}
	return ""
}

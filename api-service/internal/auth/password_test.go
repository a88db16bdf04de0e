package auth

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashAndCheckPassword(t *testing.T) {
	hash, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost < 10 {
		t.Fatalf("bcrypt cost %d (%v), want at least 10", cost, err)
	}
	if !CheckPassword(hash, "correct horse battery staple") {
		t.Fatal("the right password was refused")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if CheckPassword(hash, wrong) {
			t.Fatalf("wrong password %q accepted", wrong)
		}
	}
	again, err := HashPassword("correct horse battery staple")
	if err != nil || again == hash {
		t.Fatalf("two hashes of one password must differ (salt): %v", err)
	}
	if CheckPassword("not a bcrypt hash", "correct horse battery staple") {
		t.Fatal("a malformed hash matched")
	}
}

func TestPasswordLength(t *testing.T) {
	longest := strings.Repeat("p", maxPasswordLen)
	hash, err := HashPassword(longest)
	if err != nil {
		t.Fatalf("a 72-byte password was refused: %v", err)
	}
	if !CheckPassword(hash, longest) {
		t.Fatal("the 72-byte password does not match its hash")
	}
	// bcrypt would ignore the bytes past 72, so a longer password sharing
	// the first 72 must not match.
	if CheckPassword(hash, longest+"extra") {
		t.Fatal("a password longer than 72 bytes matched")
	}
	if _, err := HashPassword(longest + "x"); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("73 bytes: %v, want ErrPasswordTooLong", err)
	}
	// The limit is in bytes: 37 two-byte characters are 74 bytes.
	if _, err := HashPassword(strings.Repeat("я", 37)); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("74 bytes of Cyrillic: %v, want ErrPasswordTooLong", err)
	}
	if _, err := HashPassword(""); err == nil {
		t.Fatal("an empty password was hashed")
	}
}

func TestCheckPasswordOrDummy(t *testing.T) {
	hash, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPasswordOrDummy(hash, "s3cret") {
		t.Fatal("the right password was refused")
	}
	if CheckPasswordOrDummy(hash, "other") {
		t.Fatal("a wrong password was accepted")
	}
	// No user: never a match, not even the dummy hash's own password.
	if CheckPasswordOrDummy("", "timing-equaliser") || CheckPasswordOrDummy("", "") {
		t.Fatal("a login without a stored hash succeeded")
	}
}

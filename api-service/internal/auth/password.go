package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"mailing/shared/domain"
)

// bcrypt silently ignores bytes past 72; longer passwords are refused so
// two different passwords can never share a hash.
const maxPasswordLen = domain.MaxPasswordBytes

// ErrPasswordTooLong is returned for passwords bcrypt cannot hash whole.
var ErrPasswordTooLong = errors.New("password must be at most 72 bytes")

// HashPassword hashes with bcrypt at cost 12.
func HashPassword(pw string) (string, error) {
	if len(pw) > maxPasswordLen {
		return "", ErrPasswordTooLong
	}
	if pw == "" {
		return "", errors.New("password must not be empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches hash.
func CheckPassword(hash, pw string) bool {
	if len(pw) > maxPasswordLen {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// dummyHash is compared against when the user does not exist, so a login
// for an unknown name costs as much as one for a known name.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("timing-equaliser"), 12)

// CheckPasswordOrDummy runs a full comparison even when hash is empty.
func CheckPasswordOrDummy(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return CheckPassword(hash, pw)
}

package domain

import "time"

// Settings are the deployment-wide settings an admin changes at run time.
type Settings struct {
	// LocalSignIn says whether usernames and passwords are accepted
	// (POST /auth/login and /auth/token). Off, people sign in only
	// through the OpenID Provider; API keys work either way.
	LocalSignIn bool      `json:"local_sign_in" example:"true"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SettingsChange is a partial update of the settings: nil leaves a
// setting as it is.
type SettingsChange struct {
	LocalSignIn *bool `json:"local_sign_in" example:"false"`
}

package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/accounts"
	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// TokenResponse is an OAuth2 access token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token" example:"eyJhbGciOiJIUzI1NiIs..."`
	TokenType   string `json:"token_type" example:"bearer"`
	ExpiresIn   int64  `json:"expires_in" example:"3600"`
}

// OAuthError is an OAuth2 error response (RFC 6749 §5.2).
type OAuthError struct {
	Error            string `json:"error" example:"invalid_grant"`
	ErrorDescription string `json:"error_description,omitempty" example:"wrong username or password"`
}

type tokenRequest struct {
	GrantType string `json:"grant_type"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	ReturnTo  string `json:"return_to"` // POST /auth/login only
	form      bool   // sent as a form
}

// token godoc
//
//	@Summary		Log in (OAuth2 password grant)
//	@Description	Exchanges a username and password for a bearer token. Form fields (application/x-www-form-urlencoded) or a JSON object with the same names. grant_type may be omitted; when given it must be "password". The token names the user by id; it is refused as soon as the user is disabled, given another role or a new password, and the user's role decides what it may do. An unknown user, a wrong password and a disabled user get the same answer. Attempts are rate-limited per client address and username.
//	@Tags			auth
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			grant_type	formData	string	false	"must be password"	default(password)
//	@Param			username	formData	string	true	"user name"
//	@Param			password	formData	string	true	"password"
//	@Success		200			{object}	TokenResponse
//	@Failure		400			{object}	OAuthError	"invalid_request, invalid_grant, unsupported_grant_type, or unauthorized_client while local sign-in is turned off"
//	@Failure		429			{object}	OAuthError	"too many attempts; see Retry-After"
//	@Router			/auth/token [post]
func (s *Server) token(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	req, err := readTokenRequest(c)
	if err != nil {
		c.JSON(http.StatusBadRequest, OAuthError{Error: "invalid_request", ErrorDescription: err.Error()})
		return
	}
	if req.GrantType != "" && req.GrantType != "password" {
		c.JSON(http.StatusBadRequest, OAuthError{Error: "unsupported_grant_type", ErrorDescription: "only the password grant is supported"})
		return
	}
	if req.Username == "" || req.Password == "" {
		c.JSON(http.StatusBadRequest, OAuthError{Error: "invalid_request", ErrorDescription: "username and password are required"})
		return
	}
	if ok, wait := s.limiter.Allow(c.ClientIP() + "\x00" + req.Username); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		logger(c).Warn("login rate limited", "username", req.Username, "client_ip", c.ClientIP())
		c.JSON(http.StatusTooManyRequests, OAuthError{Error: "slow_down", ErrorDescription: "too many login attempts; retry later"})
		return
	}
	u, err := s.accounts.SignIn(c.Request.Context(), req.Username, req.Password, domain.ViaJWT)
	if errors.Is(err, accounts.ErrSignIn) {
		// One answer for an unknown user, a wrong password and a disabled
		// user: nothing tells which usernames exist.
		logger(c).Warn("login failed", "username", req.Username)
		c.JSON(http.StatusBadRequest, OAuthError{Error: "invalid_grant", ErrorDescription: "wrong username or password"})
		return
	}
	if errors.Is(err, accounts.ErrLocalSignInOff) {
		c.JSON(http.StatusBadRequest, OAuthError{Error: "unauthorized_client", ErrorDescription: err.Error()})
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	tok, err := s.tokens.Issue(auth.Claims{Subject: strconv.FormatInt(u.ID, 10), Generation: u.Generation})
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, u.ID)
	c.JSON(http.StatusOK, TokenResponse{AccessToken: tok, TokenType: "bearer", ExpiresIn: int64(s.tokens.TTL().Seconds())})
}

func readTokenRequest(c *gin.Context) (tokenRequest, error) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	body := http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	switch mt {
	case "application/json":
		if err := json.NewDecoder(body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			return req, errors.New("body must be a JSON object with username and password")
		}
	case "application/x-www-form-urlencoded":
		c.Request.Body = body
		if err := c.Request.ParseForm(); err != nil {
			return req, errors.New("malformed form body")
		}
		f := c.Request.PostForm
		req = tokenRequest{GrantType: f.Get("grant_type"), Username: f.Get("username"), Password: f.Get("password"), ReturnTo: f.Get("return_to"), form: true}
	default:
		return req, errors.New("send application/x-www-form-urlencoded or application/json")
	}
	req.Username = strings.TrimSpace(req.Username)
	return req, nil
}

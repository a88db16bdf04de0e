package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mailing/shared/domain"
)

// ErrUnauthenticated is returned for every credential that must not be
// accepted; what was wrong is in the wrapped text, for logs only.
var ErrUnauthenticated = errors.New("invalid or expired credentials")

// UserSource is what the Authenticator needs of the local users.
type UserSource interface {
	Get(ctx context.Context, id int64) (domain.User, error)
}

// KeySource is what the Authenticator needs of the API keys.
type KeySource interface {
	// Credential returns the key with this lookup prefix and its secret's
	// hash; a not-found domain error when there is none.
	Credential(ctx context.Context, prefix string) (domain.APIKey, []byte, error)
	// Touch records when keys were last used.
	Touch(ctx context.Context, used map[int64]time.Time) error
}

// Subscriber is what a feed of changes tells the Authenticator; see
// postgres.Subscriber.
type Subscriber interface {
	Connected()
	Disconnected()
	Notified(payload string)
}

// Feed is how the Authenticator hears about changes to users and keys; a
// postgres.Listener on postgres.AccessChannel is one.
type Feed struct {
	// Listen tells sub about changes until ctx ends; nil for no feed, and
	// then nothing is cached.
	Listen func(ctx context.Context, sub Subscriber)
	// Sync returns once every API process on the feed has heard every
	// change announced before the call; nil to not wait.
	Sync func(ctx context.Context) error
}

// AuthenticatorConfig holds the Authenticator's settings.
type AuthenticatorConfig struct {
	Tokens *Tokens
	Users  UserSource
	Keys   KeySource
	// Sessions holds browsers' sessions; nil refuses every session.
	Sessions SessionStore
	// SessionIdle ends a session unused for this long, SessionMax one
	// this old; zero means DefaultSessionIdle and DefaultSessionMax.
	SessionIdle, SessionMax time.Duration
	// Feed tells of changes; Run listens to it.
	Feed Feed
	// TTL bounds how long a lookup is trusted without news from the feed;
	// zero means 30 seconds.
	TTL time.Duration
	// TouchEvery is how often keys' last use is written; zero means a
	// minute.
	TouchEvery time.Duration
	Log        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cache bounds: enough for every active user and key; past that, lookups
// still work and only cost a query.
const cacheEntries = 10000

// Authenticator turns a bearer credential — a JWT from POST /auth/token or
// an API key — into the principal it proves. A JWT is good while its
// user is enabled and at the token's generation; a key while it is
// neither revoked nor expired. What it looks up (users by id, keys by
// prefix) is cached for TTL, and only while the feed of changes is
// connected: every change to a user or key is announced there and drops
// its entry, and a reconnection drops everything. So in the steady state a
// request costs no query, and a change is refused at once (see Sync).
type Authenticator struct {
	cfg   AuthenticatorConfig
	users *cache[int64, userLookup]
	keys  *cache[string, keyLookup]
	live  atomic.Bool

	mu   sync.Mutex
	used map[int64]time.Time
}

type userLookup struct {
	user  domain.User
	found bool
}

type keyLookup struct {
	key   domain.APIKey
	hash  []byte
	found bool
}

// NewAuthenticator returns an Authenticator that caches nothing until Run
// connects its feed.
func NewAuthenticator(cfg AuthenticatorConfig) *Authenticator {
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = time.Minute
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authenticator{
		cfg:   cfg,
		users: newCache[int64, userLookup](cfg.TTL, cacheEntries),
		keys:  newCache[string, keyLookup](cfg.TTL, cacheEntries),
		used:  map[int64]time.Time{},
	}
}

// Authenticate returns the principal credential proves. A refused
// credential gives an error wrapping ErrUnauthenticated; any other error
// means the lookup failed.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (domain.Principal, error) {
	if IsKey(credential) {
		return a.key(ctx, credential)
	}
	return a.token(ctx, credential)
}

func refused(why string) error { return fmt.Errorf("%w: %s", ErrUnauthenticated, why) }

func (a *Authenticator) token(ctx context.Context, token string) (domain.Principal, error) {
	claims, err := a.cfg.Tokens.Verify(token)
	if err != nil {
		return domain.Principal{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 {
		return domain.Principal{}, refused("token subject is not a user id")
	}
	l, err := lookup(ctx, a, a.users, id, func(ctx context.Context) (userLookup, error) {
		u, err := a.cfg.Users.Get(ctx, id)
		return userLookup{user: u, found: err == nil}, err
	})
	switch {
	case err != nil:
		return domain.Principal{}, err
	case !l.found:
		return domain.Principal{}, refused("no such user")
	case l.user.Disabled:
		return domain.Principal{}, refused("user disabled")
	case l.user.Generation != claims.Generation:
		return domain.Principal{}, refused("token of an earlier generation")
	}
	return l.user.Principal(domain.ViaJWT), nil
}

func (a *Authenticator) key(ctx context.Context, secret string) (domain.Principal, error) {
	prefix, ok := KeyLookupPrefix(secret)
	if !ok {
		return domain.Principal{}, refused("malformed API key")
	}
	l, err := lookup(ctx, a, a.keys, prefix, func(ctx context.Context) (keyLookup, error) {
		k, hash, err := a.cfg.Keys.Credential(ctx, prefix)
		return keyLookup{key: k, hash: hash, found: err == nil}, err
	})
	if err != nil {
		return domain.Principal{}, err
	}
	// Unknown and wrong secrets are told apart only after the same hash.
	if subtle.ConstantTimeCompare(HashKey(secret), l.hash) != 1 || !l.found {
		return domain.Principal{}, refused("unknown API key")
	}
	now := a.cfg.Now()
	if !l.key.Usable(now) {
		return domain.Principal{}, refused("API key revoked or expired")
	}
	a.mu.Lock()
	a.used[l.key.ID] = now
	a.mu.Unlock()
	return l.key.Principal(), nil
}

// lookup returns c's entry for k, or loads it (a not-found error is a
// result, cached too) and caches it when nothing invalidated c meanwhile.
func lookup[K comparable, V any](ctx context.Context, a *Authenticator, c *cache[K, V], k K, load func(context.Context) (V, error)) (V, error) {
	now := a.cfg.Now()
	if v, ok := c.get(k, now); ok {
		return v, nil
	}
	epoch, live := c.begin()
	v, err := load(ctx)
	if err != nil && domain.ErrorCode(err) != domain.CodeNotFound {
		return v, err
	}
	if live {
		c.put(k, v, epoch, now)
	}
	return v, nil
}

// Listening reports whether the feed of changes is connected, that is,
// whether lookups are being cached.
func (a *Authenticator) Listening() bool { return a.live.Load() }

// Connected drops everything: changes made while the feed was down were
// not heard. From now on lookups are cached.
func (a *Authenticator) Connected() {
	a.users.reset(true)
	a.keys.reset(true)
	a.live.Store(true)
}

// Disconnected drops everything and stops caching until Connected: a
// change made now would not be heard.
func (a *Authenticator) Disconnected() {
	a.live.Store(false)
	a.users.reset(false)
	a.keys.reset(false)
}

// Notified drops what is cached about the principal named by payload (an
// actor id, "user:3" or "key:7"), or everything for a payload it does not
// know.
func (a *Authenticator) Notified(payload string) {
	kind, id, ok := domain.ParseActorID(payload)
	switch {
	case !ok:
		a.users.drop(func(int64, userLookup) bool { return true })
		a.keys.drop(func(string, keyLookup) bool { return true })
	case kind == domain.PrincipalUser:
		a.users.drop(func(k int64, _ userLookup) bool { return k == id })
	case kind == domain.PrincipalKey:
		a.keys.drop(func(_ string, l keyLookup) bool { return l.key.ID == id })
	}
}

// Sync runs change, which commits a change to the principal named subject
// (an actor id) together with its notification, and returns once no API
// process trusts what it cached about subject: this one forgets at once,
// and the feed's Sync waits until every process on the feed has heard the
// change. So when a revocation is answered, the very next request with the
// old credentials is refused whichever replica it reaches.
func (a *Authenticator) Sync(ctx context.Context, subject string, change func() error) error {
	if err := change(); err != nil {
		return err
	}
	a.Notified(subject)
	if a.cfg.Feed.Sync == nil || !a.Listening() {
		return nil
	}
	if err := a.cfg.Feed.Sync(ctx); err != nil {
		a.cfg.Log.Warn("a change may not have reached every API process yet; their caches forget it within the cache's TTL", "subject", subject, "error", err.Error())
	}
	return nil
}

// Run listens to the feed and records keys' use until ctx ends: every
// TouchEvery the keys used since are written, so a key costs at most one
// write a TouchEvery, off the request path. The last uses are written when
// ctx ends.
func (a *Authenticator) Run(ctx context.Context) {
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		if a.cfg.Feed.Listen != nil {
			a.cfg.Feed.Listen(ctx, a)
		}
	}()
	tick := time.NewTicker(a.cfg.TouchEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			a.flushUses(ctx)
		case <-ctx.Done():
			<-listened
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			a.flushUses(final)
			cancel()
			return
		}
	}
}

// flushUses writes the keys' last uses noted since the previous flush.
func (a *Authenticator) flushUses(ctx context.Context) {
	a.mu.Lock()
	used := a.used
	if len(used) == 0 {
		a.mu.Unlock()
		return
	}
	a.used = map[int64]time.Time{}
	a.mu.Unlock()
	if err := a.cfg.Keys.Touch(ctx, used); err != nil {
		a.cfg.Log.Warn("could not record API keys' last use", "keys", len(used), "error", err.Error())
	}
}

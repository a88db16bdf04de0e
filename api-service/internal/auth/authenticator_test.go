package auth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
)

// sources is an in-memory UserSource and KeySource that counts lookups.
type sources struct {
	mu      sync.Mutex
	users   map[int64]domain.User
	keys    map[string]domain.APIKey
	hashes  map[string][]byte
	lookups int
	touched map[int64]time.Time
	// during runs inside a lookup, after the value is read.
	during func()
}

func newSources() *sources {
	return &sources{users: map[int64]domain.User{}, keys: map[string]domain.APIKey{}, hashes: map[string][]byte{}, touched: map[int64]time.Time{}}
}

func (s *sources) Get(_ context.Context, id int64) (domain.User, error) {
	s.mu.Lock()
	u, ok := s.users[id]
	s.lookups++
	during := s.during
	s.mu.Unlock()
	if during != nil {
		during()
	}
	if !ok {
		return domain.User{}, domain.NotFound("user", id)
	}
	return u, nil
}

func (s *sources) Credential(_ context.Context, prefix string) (domain.APIKey, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	k, ok := s.keys[prefix]
	if !ok {
		return domain.APIKey{}, nil, domain.NotFound("API key", prefix)
	}
	return k, s.hashes[prefix], nil
}

func (s *sources) Touch(_ context.Context, used map[int64]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range used {
		s.touched[id] = at
	}
	return nil
}

func (s *sources) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

func (s *sources) setUser(u domain.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

type authFixture struct {
	*sources
	a      *Authenticator
	tokens *Tokens
	now    time.Time
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	f := &authFixture{sources: newSources(), now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	f.tokens = newTestTokens(t, f.now)
	f.a = NewAuthenticator(AuthenticatorConfig{Tokens: f.tokens, Users: f.sources, Keys: f.sources, TTL: time.Minute, Now: func() time.Time { return f.now }})
	return f
}

func (f *authFixture) token(t *testing.T, id, gen int64) string {
	t.Helper()
	s, err := f.tokens.Issue(Claims{Subject: strconv.FormatInt(id, 10), Generation: gen})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *authFixture) key(k domain.APIKey) string {
	secret, prefix := NewKeySecret()
	k.Prefix = prefix
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[prefix] = k
	f.hashes[prefix] = HashKey(secret)
	return secret
}

func mustRefuse(t *testing.T, a *Authenticator, cred, why string) {
	t.Helper()
	if p, err := a.Authenticate(context.Background(), cred); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("%s: accepted as %+v (%v)", why, p, err)
	}
}

func mustAccept(t *testing.T, a *Authenticator, cred string) domain.Principal {
	t.Helper()
	p, err := a.Authenticate(context.Background(), cred)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	return p
}

func TestAuthenticateTokens(t *testing.T) {
	f := newAuthFixture(t)
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleOperator, Generation: 2})
	p := mustAccept(t, f.a, f.token(t, 1, 2))
	want := domain.Principal{Kind: domain.PrincipalUser, ID: 1, Name: "maria", Role: domain.RoleOperator, Via: domain.ViaJWT}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	mustRefuse(t, f.a, f.token(t, 1, 1), "an earlier generation")
	mustRefuse(t, f.a, f.token(t, 1, 0), "no generation")
	mustRefuse(t, f.a, f.token(t, 2, 1), "an unknown user")
	mustRefuse(t, f.a, "not-a-token", "garbage")
	s, _ := f.tokens.Issue(Claims{Subject: "maria", Generation: 2})
	mustRefuse(t, f.a, s, "a subject that is not an id")
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleOperator, Generation: 2, Disabled: true})
	mustRefuse(t, f.a, f.token(t, 1, 2), "a disabled user (nothing cached: the feed is not connected)")
}

func TestAuthenticateKeys(t *testing.T) {
	f := newAuthFixture(t)
	expires := f.now.Add(time.Hour)
	secret := f.key(domain.APIKey{ID: 7, Name: "crm", Role: domain.RoleViewer, ExpiresAt: &expires})
	p := mustAccept(t, f.a, secret)
	if p.Kind != domain.PrincipalKey || p.ID != 7 || p.Name != "crm" || p.Role != domain.RoleViewer || p.Via != domain.ViaKey {
		t.Fatalf("principal %+v", p)
	}
	wrong := []byte(secret)
	wrong[len(wrong)-1] = map[bool]byte{true: 'b', false: 'a'}[wrong[len(wrong)-1] == 'a']
	mustRefuse(t, f.a, string(wrong), "a wrong secret with the right prefix")
	prefix, _ := KeyLookupPrefix(secret)
	other, _ := NewKeySecret()
	mustRefuse(t, f.a, other, "an unknown key")
	mustRefuse(t, f.a, KeyPrefix+"garbage", "a malformed key")
	f.now = expires
	mustRefuse(t, f.a, secret, "an expired key")
	revoked := f.now
	f.now = expires.Add(-time.Minute)
	f.mu.Lock()
	k := f.keys[prefix]
	k.RevokedAt = &revoked
	f.keys[prefix] = k
	f.mu.Unlock()
	mustRefuse(t, f.a, secret, "a revoked key")
}

func TestAuthenticatorCachesOnlyWhileListening(t *testing.T) {
	f := newAuthFixture(t)
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1})
	tok := f.token(t, 1, 1)
	secret := f.key(domain.APIKey{ID: 7, Name: "crm", Role: domain.RoleViewer})

	// Not listening: every request looks up.
	for range 3 {
		mustAccept(t, f.a, tok)
		mustAccept(t, f.a, secret)
	}
	if n := f.count(); n != 6 {
		t.Fatalf("%d lookups without a feed, want 6", n)
	}
	f.a.Connected()
	for range 3 {
		mustAccept(t, f.a, tok)
		mustAccept(t, f.a, secret)
	}
	if n := f.count(); n != 8 {
		t.Fatalf("%d lookups with a feed, want 8 (one more each)", n)
	}
	// A change behind the feed's back is not seen until the entry expires…
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1, Disabled: true})
	mustAccept(t, f.a, tok)
	f.now = f.now.Add(time.Minute)
	mustRefuse(t, f.a, tok, "a disabled user after the TTL")
	// …or until it is announced.
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1})
	mustRefuse(t, f.a, tok, "the cached refusal")
	f.a.Notified("user:1")
	mustAccept(t, f.a, tok)
	mustAccept(t, f.a, secret) // cached again, the first entry expired
	f.mu.Lock()
	prefix, _ := KeyLookupPrefix(secret)
	k := f.keys[prefix]
	k.RevokedAt = &f.now
	f.keys[prefix] = k
	f.mu.Unlock()
	mustAccept(t, f.a, secret)
	f.a.Notified("key:8")
	mustAccept(t, f.a, secret)
	f.a.Notified("key:7")
	mustRefuse(t, f.a, secret, "a revoked key after its notification")

	// A lost feed drops everything and stops caching.
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1, Disabled: true})
	f.a.Disconnected()
	mustRefuse(t, f.a, tok, "a disabled user once the feed is lost")
	before := f.count()
	mustRefuse(t, f.a, tok, "a disabled user")
	if f.count() != before+1 {
		t.Fatal("cached while the feed is down")
	}
}

func TestAuthenticatorDropsLookupsOverlappingAChange(t *testing.T) {
	f := newAuthFixture(t)
	f.a.Connected()
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1})
	tok := f.token(t, 1, 1)
	// The user is disabled and announced while a lookup that read the old
	// row is still on its way: what it read must not be cached.
	f.during = func() {
		f.during = nil
		f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1, Disabled: true})
		f.a.Notified("user:1")
	}
	mustAccept(t, f.a, tok) // the request concurrent with the change
	mustRefuse(t, f.a, tok, "a disabled user after an overlapping lookup")
}

func TestAuthenticatorRunTouchesAndSync(t *testing.T) {
	f := newAuthFixture(t)
	f.a.cfg.TouchEvery = 10 * time.Millisecond
	secret := f.key(domain.APIKey{ID: 7, Name: "crm", Role: domain.RoleViewer})
	feed := make(chan Subscriber, 1)
	synced := make(chan struct{})
	f.a.cfg.Feed = Feed{
		Listen: func(ctx context.Context, s Subscriber) {
			s.Connected()
			feed <- s
			<-ctx.Done()
			s.Disconnected()
		},
		Sync: func(context.Context) error { <-synced; return nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.a.Run(ctx)
	}()
	<-feed
	mustAccept(t, f.a, secret)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		at, ok := f.touched[7]
		f.mu.Unlock()
		if ok {
			if !at.Equal(f.now) {
				t.Fatalf("last use %v, want %v", at, f.now)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key's use was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Sync forgets the key at once, and returns once the feed has synced.
	changed := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- f.a.Sync(context.Background(), "key:7", func() error {
			f.mu.Lock()
			prefix, _ := KeyLookupPrefix(secret)
			k := f.keys[prefix]
			k.RevokedAt = &f.now
			f.keys[prefix] = k
			f.mu.Unlock()
			close(changed)
			return nil
		})
	}()
	<-changed
	select {
	case err := <-result:
		t.Fatalf("Sync returned before the feed synced: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	mustRefuse(t, f.a, secret, "a key revoked through Sync, before the feed synced")
	close(synced)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	// A failed change is returned as is, without waiting.
	boom := errors.New("boom")
	if err := f.a.Sync(context.Background(), "key:7", func() error { return boom }); err != boom {
		t.Fatalf("Sync = %v", err)
	}
	cancel()
	<-done
	if f.a.Listening() {
		t.Fatal("still listening after Run returned")
	}
}

// BenchmarkAuthenticate is the cost of proving a principal from a cached
// lookup, in process: a JWT (HMAC-SHA256 and JSON) against an API key
// (SHA-256 and a constant-time comparison).
func BenchmarkAuthenticate(b *testing.B) {
	f := &authFixture{sources: newSources(), now: time.Now()}
	tokens, err := NewTokens(testSecret, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	f.tokens = tokens
	f.a = NewAuthenticator(AuthenticatorConfig{Tokens: tokens, Users: f.sources, Keys: f.sources})
	f.a.Connected()
	f.setUser(domain.User{ID: 1, Username: "maria", Role: domain.RoleViewer, Generation: 1})
	tok, err := tokens.Issue(Claims{Subject: "1", Generation: 1})
	if err != nil {
		b.Fatal(err)
	}
	for name, cred := range map[string]string{"jwt": tok, "key": f.key(domain.APIKey{ID: 7, Name: "crm", Role: domain.RoleViewer})} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := f.a.Authenticate(context.Background(), cred); err != nil {
					b.Fatal(err)
				}
			}
			if f.count() > 2 {
				b.Fatalf("%d lookups: the cache was not used", f.count())
			}
		})
	}
}

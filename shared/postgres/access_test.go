package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// heard records what a listener hears, in order.
type heard chan string

func (h heard) Connected()        { h <- "connected" }
func (h heard) Disconnected()     { h <- "disconnected" }
func (h heard) Notified(p string) { h <- "notified " + p }

func (h heard) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-h:
		if got != want {
			t.Fatalf("heard %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("heard nothing, want %q", want)
	}
}

func listen(t *testing.T, db *postgres.DB, sub postgres.Subscriber) *postgres.Listener {
	t.Helper()
	l := db.Listener(postgres.AccessChannel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Listen(ctx, sub)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func newKey(t *testing.T, db *postgres.DB, prefix string) domain.APIKey {
	t.Helper()
	hash := sha256.Sum256([]byte(prefix + "_secret"))
	k, err := postgres.NewKeys(db).Create(context.Background(), domain.APIKey{Name: "crm", Role: domain.RoleOperator, Prefix: prefix}, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestListenHearsCommittedChangesAndReconnects(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	h := make(heard, 100)
	listen(t, db, h)
	h.next(t, "connected")

	keys := postgres.NewKeys(db)
	k := newKey(t, db, "mk_live_aaaaaaaaaaaa")
	if _, err := keys.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	h.next(t, "notified "+domain.ActorID(domain.PrincipalKey, k.ID))
	// A change that does not commit is not announced: the next thing heard
	// is the change after it.
	if _, err := keys.Revoke(ctx, k.ID+100); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("revoking a missing key: %v", err)
	}
	users := postgres.NewUsers(db)
	u, err := users.Create(ctx, domain.User{Username: "maria", Role: domain.RoleViewer}, "hash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.SetPassword(ctx, u.ID, "hash2"); err != nil {
		t.Fatal(err)
	}
	h.next(t, "notified "+domain.ActorID(domain.PrincipalUser, u.ID))

	// The server ends the listener's session: it says so, connects again
	// and hears what follows.
	var n int
	err = db.SQL().QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.ListenerApplicationName).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d listeners (%v), want 1", n, err)
	}
	h.next(t, "disconnected")
	h.next(t, "connected")
	if _, err := users.SetPassword(ctx, u.ID, "hash3"); err != nil {
		t.Fatal(err)
	}
	h.next(t, "notified "+domain.ActorID(domain.PrincipalUser, u.ID))
}

// slow is a subscriber that takes its time over each notification, as a
// busy process would.
type slow struct {
	mu    sync.Mutex
	heard []string
	up    chan struct{}
}

func (s *slow) Connected()    { close(s.up) }
func (s *slow) Disconnected() {}
func (s *slow) Notified(p string) {
	time.Sleep(100 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heard = append(s.heard, p)
}

func TestSyncWaitsForEveryListener(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	h := make(heard, 100)
	mine := listen(t, db, h)
	h.next(t, "connected")
	other := &slow{up: make(chan struct{})}
	listen(t, db, other)
	<-other.up

	k := newKey(t, db, "mk_live_dddddddddddd")
	if _, err := postgres.NewKeys(db).Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := mine.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// Sync returned: the slow listener has handled the revocation, and
	// neither heard Sync's own round.
	other.mu.Lock()
	got := slices.Clone(other.heard)
	other.mu.Unlock()
	if want := []string{domain.ActorID(domain.PrincipalKey, k.ID)}; !slices.Equal(got, want) {
		t.Fatalf("the other listener heard %q by the end of Sync, want %q", got, want)
	}
	h.next(t, "notified "+domain.ActorID(domain.PrincipalKey, k.ID))
	select {
	case extra := <-h:
		t.Fatalf("heard %q", extra)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestUsersStore(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	users := postgres.NewUsers(db)
	admin, err := users.Create(ctx, domain.User{Username: "root", Role: domain.RoleAdmin, DisplayName: "Root"}, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if admin.Generation != 1 || admin.Disabled || admin.CreatedAt.Location() != time.UTC {
		t.Fatalf("new user %+v", admin)
	}
	if _, err := users.Create(ctx, domain.User{Username: "root", Role: domain.RoleViewer}, "h"); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("duplicate username: %v", err)
	}
	got, hash, err := users.Credentials(ctx, "root")
	if err != nil || got.ID != admin.ID || hash != "h1" {
		t.Fatalf("Credentials = %+v %q %v", got, hash, err)
	}
	if got, hash, err := users.Credentials(ctx, "nobody"); err != nil || got.ID != 0 || hash != "" {
		t.Fatalf("Credentials of nobody = %+v %q %v", got, hash, err)
	}

	// The last enabled admin can be neither demoted nor disabled.
	viewer, yes := domain.RoleViewer, true
	for _, ch := range []domain.UserChange{{Role: &viewer}, {Disabled: &yes}} {
		var de *domain.Error
		if _, err := users.Update(ctx, admin.ID, ch); !errors.As(err, &de) || de.Code != domain.CodeConflict {
			t.Fatalf("last admin changed: %v", err)
		}
	}
	second, err := users.Create(ctx, domain.User{Username: "ops", Role: domain.RoleAdmin}, "h2")
	if err != nil {
		t.Fatal(err)
	}
	demoted, err := users.Update(ctx, admin.ID, domain.UserChange{Role: &viewer})
	if err != nil || demoted.Role != domain.RoleViewer || demoted.Generation != 2 {
		t.Fatalf("demotion: %+v %v", demoted, err)
	}
	name := "Ops"
	renamed, err := users.Update(ctx, second.ID, domain.UserChange{DisplayName: &name})
	if err != nil || renamed.DisplayName != "Ops" || renamed.Generation != 1 {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	if _, err := users.Update(ctx, second.ID, domain.UserChange{Disabled: &yes}); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("the other admin became the last and was disabled: %v", err)
	}
	reset, err := users.SetPassword(ctx, demoted.ID, "h3")
	if err != nil || reset.Generation != 3 || !reset.PasswordChangedAt.After(admin.PasswordChangedAt) {
		t.Fatalf("reset: %+v %v", reset, err)
	}
	if _, err := users.SetPassword(ctx, 999, "h"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("reset of a missing user: %v", err)
	}
	page, err := users.List(ctx, domain.Page{Limit: 1, After: admin.ID})
	if err != nil || len(page) != 1 || page[0].ID != second.ID {
		t.Fatalf("page after %d: %+v %v", admin.ID, page, err)
	}
}

func TestKeysStore(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	keys := postgres.NewKeys(db)
	k := newKey(t, db, "mk_live_bbbbbbbbbbbb")
	got, hash, err := keys.Credential(ctx, k.Prefix)
	want := sha256.Sum256([]byte(k.Prefix + "_secret"))
	if err != nil || got.ID != k.ID || string(hash) != string(want[:]) {
		t.Fatalf("Credential = %+v %x %v", got, hash, err)
	}
	if _, _, err := keys.Credential(ctx, "mk_live_cccccccccccc"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("unknown prefix: %v", err)
	}
	// Touch keeps the latest use.
	t1 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{t1, t1.Add(-time.Minute)} {
		if err := keys.Touch(ctx, map[int64]time.Time{k.ID: at}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := keys.List(ctx, domain.Page{Limit: 10})
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(t1) {
		t.Fatalf("list %+v %v", list, err)
	}
	r1, err := keys.Revoke(ctx, k.ID)
	if err != nil || r1.RevokedAt == nil {
		t.Fatalf("revoke: %+v %v", r1, err)
	}
	r2, err := keys.Revoke(ctx, k.ID)
	if err != nil || !r2.RevokedAt.Equal(*r1.RevokedAt) {
		t.Fatalf("second revoke moved the time: %v → %v (%v)", r1.RevokedAt, r2.RevokedAt, err)
	}
}

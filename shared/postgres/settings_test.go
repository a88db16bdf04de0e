package postgres_test

import (
	"context"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func TestSettingsStore(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	st := postgres.NewSettings(db)
	got, err := st.Get(ctx)
	if err != nil || !got.LocalSignIn {
		t.Fatalf("default: %+v %v", got, err)
	}
	off := false
	if got, err = st.Update(ctx, domain.SettingsChange{LocalSignIn: &off}); err != nil || got.LocalSignIn {
		t.Fatalf("off: %+v %v", got, err)
	}
	if again, err := st.Get(ctx); err != nil || again != got {
		t.Fatalf("read back %+v %v, want %+v", again, err, got)
	}
	if _, err := st.Update(ctx, domain.SettingsChange{LocalSignIn: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, domain.SettingsChange{}); err != nil {
		t.Fatal(err)
	}
	events, err := postgres.NewAudit(db).List(ctx, domain.AuditFilter{Action: domain.AuditSettingsUpdated}, domain.Page{Limit: 10})
	if err != nil || len(events) != 1 {
		t.Fatalf("one change, %d events (%v)", len(events), err)
	}
}

func TestSessionsSweep(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	u, err := postgres.NewUsers(db).Create(ctx, domain.User{Username: "u", Role: domain.RoleViewer}, "!")
	if err != nil {
		t.Fatal(err)
	}
	sessions := postgres.NewSessions(db)
	now := time.Now().UTC().Truncate(time.Microsecond)
	hour := time.Hour
	mk := func(i int, idle, abs time.Duration) string {
		id := strings64(i)
		_, err := sessions.Create(ctx, domain.Session{ID: id, UserID: u.ID, CSRFHash: strings64(100 + i), Generation: u.Generation,
			CreatedAt: now.Add(-48 * hour), LastSeenAt: now.Add(-48 * hour), IdleExpiresAt: now.Add(idle), ExpiresAt: now.Add(abs)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	live := mk(1, hour, 8*hour)
	idled := mk(2, -3*hour, 8*hour)
	expired := mk(3, -3*hour, -3*hour)
	revokedLong := mk(4, hour, 8*hour)
	revokedJust := mk(5, hour, 8*hour)
	recentIdle := mk(6, -10*time.Minute, 8*hour)
	if err := sessions.Revoke(ctx, revokedLong, now.Add(-2*hour)); err != nil {
		t.Fatal(err)
	}
	if err := sessions.Revoke(ctx, revokedJust, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	cutoff := now.Add(-hour)
	var total int64
	for {
		n, err := sessions.DeleteEnded(ctx, cutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 2 {
			break
		}
	}
	if total != 3 {
		t.Errorf("deleted %d sessions, want 3", total)
	}
	for id, kept := range map[string]bool{live: true, idled: false, expired: false, revokedLong: false, revokedJust: true, recentIdle: true} {
		_, err := sessions.Get(ctx, id)
		if exists := err == nil; exists != kept {
			t.Errorf("session %s…: exists %v, want %v (%v)", id[:4], exists, kept, err)
		}
	}
}

// strings64 is a session id: 64 hex digits.
func strings64(i int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for j := range b {
		b[j] = hex[(i+j)%16]
	}
	b[0], b[1] = hex[i/16%16], hex[i%16]
	return string(b)
}

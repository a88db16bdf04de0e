package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestMailoutMessagesList(t *testing.T) {
	b := setup(t)
	mid := id(t, b.newMailout(nil))
	other := id(t, b.newMailout(nil))
	statuses := []string{"sent", "failed", "pending", "sent", "expired", "sending", "cancelled", "sent", "failed"}
	var all, failed []int64
	for i, st := range statuses {
		msg := b.insertMessage(mid, int64(i+1), st)
		b.insertMessage(other, int64(i+1), st)
		all = append(all, msg)
		if st == "failed" {
			failed = append(failed, msg)
		}
	}
	b.exec(`UPDATE messages SET attempts = 3, last_error = 'rejected_4xx (HTTP 400)', reason = 'rejected_4xx' WHERE id = $1`, failed[0])

	walk := func(query string) ([]int64, []map[string]any) {
		t.Helper()
		var ids []int64
		var list []map[string]any
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			out := b.must(http.StatusOK, "GET", "/api/mailouts/"+itoa(mid)+"/messages?limit=2"+query+after, nil)
			for _, it := range items(t, out) {
				if it["mailout_id"] != float64(mid) {
					t.Fatalf("message of another mailout: %v", it)
				}
				ids = append(ids, id(t, it))
				list = append(list, it)
			}
			next, ok := out["next"].(string)
			if !ok {
				return ids, list
			}
			after = "&after=" + next
		}
	}
	if got, _ := walk(""); !slices.Equal(got, all) {
		t.Fatalf("all messages %v, want %v in id order", got, all)
	}
	got, list := walk("&status=failed")
	if !slices.Equal(got, failed) {
		t.Fatalf("failed messages %v, want %v", got, failed)
	}
	if m := list[0]; m["status"] != "failed" || m["attempts"] != float64(3) || m["last_error"] != "rejected_4xx (HTTP 400)" ||
		m["created_at"] == nil || m["updated_at"] == nil {
		t.Fatalf("failed message: %v", m)
	}

	_, out := b.do("GET", "/api/mailouts/999999/messages", nil)
	wantError(t, out, "not_found")
	for _, q := range []string{"abc/messages", itoa(mid) + "/messages?status=lost", itoa(mid) + "/messages?limit=0", itoa(mid) + "/messages?after=-1"} {
		st, out := b.do("GET", "/api/mailouts/"+q, nil)
		if st != http.StatusBadRequest {
			t.Fatalf("%s: %d %v", q, st, out)
		}
		wantError(t, out, "invalid")
	}
}

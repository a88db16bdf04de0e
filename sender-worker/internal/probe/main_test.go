package probe

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: hanging requests, idle
// keep-alive connections and breaker waits included.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

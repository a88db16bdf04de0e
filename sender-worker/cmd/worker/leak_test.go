package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives the tests: every
// worker, including those whose requests hung or whose broker connections
// were dropped, must stop completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

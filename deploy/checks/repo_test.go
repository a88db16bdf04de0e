package checks

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// The images the repository releases: Dockerfile targets that CI builds
// and pushes, compose services and the names the manifests use.
var targets = []string{"api", "worker", "probe-sim"}

// devTargets are the Dockerfile targets for development only: compose
// services, never built by CI nor run by the manifests.
var devTargets = []string{"dev-oidc"}

// imageTargets are every target of the Dockerfile.
var imageTargets = slices.Concat(targets, devTargets)

// repoRoot is the repository root: the directory above deploy/.
var repoRoot = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Abs(filepath.Join(wd, "..", ".."))
})

// root returns the repository root, failing the test when it is not one.
func root(t testing.TB) string {
	t.Helper()
	dir, err := repoRoot()
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.work")); err != nil {
		t.Fatalf("repository root %s: %v", dir, err)
	}
	return dir
}

// repoPath joins a slash-separated repository path to the root.
func repoPath(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(root(t), filepath.FromSlash(rel))
}

// readRepoFile returns a repository file's contents.
func readRepoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

package checks

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// webDir is the admin UI's folder in the repository.
const webDir = "api-service/web"

// The API image embeds the admin UI, built in a Node stage from the
// committed lock file: the build stage copies that stage's output where
// go:embed reads it, the Node version satisfies the UI's engines, and the
// npm ci layer is reused until the dependencies change.
func TestDockerfileBuildsTheAdminUI(t *testing.T) {
	d := parseDockerfile(t)
	var from, dest string
	for _, name := range buildStages(t, d) {
		for _, c := range d.stage(name).Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				from, dest = cp.From, path.Clean(cp.DestPath)
			}
		}
	}
	if from == "" {
		t.Fatalf("no build stage copies the admin UI from a Node stage: bin/api would serve only the placeholder")
	}
	if dest != webDir+"/dist" && !strings.HasSuffix(dest, "/"+webDir+"/dist") {
		t.Errorf("the UI is copied to %s; go:embed reads %s/dist", dest, webDir)
	}
	web := d.stage(from)
	image, err := expand(web.BaseName, d.metaArgs)
	if err != nil {
		t.Fatal(err)
	}
	checkNodeVersion(t, image)

	// Order of the stage's steps: package files, npm ci, sources, build.
	var steps []string
	for _, c := range web.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			for _, src := range c.SourcePaths {
				switch path.Clean(src) {
				case webDir + "/package.json", webDir + "/package-lock.json":
					steps = append(steps, "package files")
				case webDir:
					steps = append(steps, "sources")
				}
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			switch {
			case strings.Contains(line, "npm install") || strings.Contains(line, "npm i "):
				t.Errorf("RUN %s: use npm ci, which installs exactly the committed package-lock.json", line)
			case strings.Contains(line, "npm ci"):
				steps = append(steps, "npm ci")
			case strings.Contains(line, "npm run build"):
				steps = append(steps, "build")
			}
		}
	}
	if got, want := strings.Join(dedupe(steps), ", "), "package files, npm ci, sources, build"; got != want {
		t.Errorf("stage %s does %s; want %s (the npm ci layer cached until the package files change)", from, got, want)
	}
	if out, err := uiOutput(d, from); err != nil || !strings.HasSuffix(out, "/"+webDir+"/dist") {
		t.Errorf("stage %s builds into %s (%v); want its WORKDIR to be the UI's folder, so Vite writes %s/dist", from, out, err, webDir)
	}
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// checkNodeVersion wants the Node image's version to satisfy the lower
// bound of the UI's engines.node (">=20.19").
func checkNodeVersion(t *testing.T, image string) {
	t.Helper()
	if !strings.HasPrefix(image, "node:") {
		t.Fatalf("the UI is built FROM %s; want a node image", image)
	}
	var pkg struct {
		Engines struct {
			Node string `json:"node"`
		} `json:"engines"`
	}
	if err := json.Unmarshal(readRepoFile(t, webDir+"/package.json"), &pkg); err != nil {
		t.Fatal(err)
	}
	min := regexp.MustCompile(`^>=\s*(\d+)\.(\d+)`).FindStringSubmatch(pkg.Engines.Node)
	have := regexp.MustCompile(`^node:(\d+)\.(\d+)`).FindStringSubmatch(image)
	if min == nil || have == nil {
		t.Fatalf("engines.node %q, image %s: want a >=major.minor bound and a node:major.minor... tag", pkg.Engines.Node, image)
	}
	if atoi(have[1]) < atoi(min[1]) || (atoi(have[1]) == atoi(min[1]) && atoi(have[2]) < atoi(min[2])) {
		t.Errorf("%s is older than the UI's engines.node %s", image, pkg.Engines.Node)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// A developer's node_modules and dist must not reach the image: the Node
// stage installs and builds its own.
func TestDockerignoreKeepsTheUIsLocalBuildOut(t *testing.T) {
	f, err := os.Open(filepath.Join(root(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{webDir + "/node_modules/react/index.js", webDir + "/dist/index.html", webDir + "/dist/assets/index-1.js"} {
		if ex, err := pm.MatchesOrParentMatches(p); err != nil || !ex {
			t.Errorf("%s is sent with the build context; exclude it in .dockerignore", p)
		}
	}
	for _, p := range []string{webDir + "/package.json", webDir + "/package-lock.json", webDir + "/src/main.tsx", webDir + "/index.html"} {
		if ex, err := pm.MatchesOrParentMatches(p); err != nil || ex {
			t.Errorf("%s is excluded by .dockerignore; the Node stage builds from it", p)
		}
	}
}

package checks

import (
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const gitlabCI = ".gitlab-ci.yml"

// Top-level keys of .gitlab-ci.yml that are not jobs.
var ciKeywords = []string{"stages", "variables", "workflow", "default", "include", "image", "services", "cache", "before_script", "after_script"}

type ciJob map[string]any

// loadCI parses .gitlab-ci.yml and returns its stages and jobs, with
// `extends` resolved as GitLab does (maps merged deeply, the job winning).
func loadCI(t testing.TB) ([]string, map[string]ciJob) {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, gitlabCI), &doc); err != nil {
		t.Fatalf("parse %s: %v", gitlabCI, err)
	}
	var stages []string
	for _, s := range list(doc["stages"]) {
		stages = append(stages, s.(string))
	}
	jobs := map[string]ciJob{}
	for name := range doc {
		if !slices.Contains(ciKeywords, name) && !strings.HasPrefix(name, ".") {
			jobs[name] = resolveExtends(t, doc, name, 0)
		}
	}
	return stages, jobs
}

func resolveExtends(t testing.TB, doc map[string]any, name string, depth int) ciJob {
	t.Helper()
	job, ok := doc[name].(map[string]any)
	if !ok || depth > 10 {
		t.Fatalf("%s: %q is not a job or template (or extends loops)", gitlabCI, name)
	}
	merged := map[string]any{}
	for _, parent := range list(job["extends"]) {
		merged = deepMerge(merged, resolveExtends(t, doc, parent.(string), depth+1))
	}
	return deepMerge(merged, job)
}

func deepMerge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = deepMerge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	delete(out, "extends")
	return out
}

// list reads a YAML value that may be one item or a list.
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// lines returns a job's script lines (before_script and script).
func (j ciJob) lines() []string {
	var out []string
	for _, key := range []string{"before_script", "script"} {
		for _, l := range list(j[key]) {
			out = append(out, l.(string))
		}
	}
	return out
}

func (j ciJob) str(key string) string { s, _ := j[key].(string); return s }

func (j ciJob) variables() map[string]string {
	out := map[string]string{}
	vars, _ := j["variables"].(map[string]any)
	for k, v := range vars {
		out[k], _ = v.(string)
	}
	return out
}

func (j ciJob) image() string {
	if m, ok := j["image"].(map[string]any); ok {
		s, _ := m["name"].(string)
		return s
	}
	return j.str("image")
}

func TestGitLabCIStagesAndNeeds(t *testing.T) {
	stages, jobs := loadCI(t)
	if want := []string{"lint", "test", "build", "deploy"}; !slices.Equal(stages, want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	for name, job := range jobs {
		stage := job.str("stage")
		if !slices.Contains(stages, stage) {
			t.Errorf("job %s: stage %q is not declared", name, stage)
		}
		if len(list(job["script"])) == 0 {
			t.Errorf("job %s has no script", name)
		}
		for _, n := range list(job["needs"]) {
			need, _ := n.(string)
			if m, ok := n.(map[string]any); ok {
				need, _ = m["job"].(string)
			}
			other, ok := jobs[need]
			switch {
			case !ok:
				t.Errorf("job %s needs %q, which is not a job", name, need)
			case slices.Index(stages, other.str("stage")) >= slices.Index(stages, stage):
				t.Errorf("job %s (stage %s) needs %s of the same or a later stage %s", name, stage, need, other.str("stage"))
			}
		}
	}
}

// TestGitLabCIRunsWhatCIRuns: the lint and test jobs run the make targets
// of .ci/run, which must exist, in the Go version of go.work.
func TestGitLabCIRunsWhatCIRuns(t *testing.T) {
	_, jobs := loadCI(t)
	makeCall := regexp.MustCompile(`(?m)(?:^|[;&|]\s*)make\s+([A-Za-z0-9_.-]+)`)
	var ran []string
	for name, job := range jobs {
		for _, line := range job.lines() {
			for _, m := range makeCall.FindAllStringSubmatch(line, -1) {
				ran = append(ran, m[1])
				checkMakeTarget(t, name, m[1])
			}
		}
	}
	for _, m := range makeCall.FindAllStringSubmatch(string(readRepoFile(t, ".ci/run")), -1) {
		if !slices.Contains(ran, m[1]) {
			t.Errorf(".ci/run runs make %s; no GitLab job does", m[1])
		}
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindStringSubmatch(string(readRepoFile(t, "go.work")))
	for _, name := range []string{"lint", "test"} {
		job := jobs[name]
		if want := "golang:" + goVersion[1]; !strings.HasPrefix(job.image(), want) {
			t.Errorf("job %s runs in %q, want %s (the Go of go.work)", name, job.image(), want)
		}
		checkGoCache(t, name, job)
	}
}

func checkMakeTarget(t *testing.T, job, target string) {
	t.Helper()
	out, err := exec.Command("make", "-n", "-C", root(t), target).CombinedOutput()
	if err != nil {
		t.Errorf("job %s runs make %s, which the Makefile lacks: %v\n%s", job, target, err, out)
	}
}

// checkGoCache: the runner's cache keeps the module and build caches.
func checkGoCache(t *testing.T, name string, job ciJob) {
	t.Helper()
	vars := job.variables()
	cache, _ := job["cache"].(map[string]any)
	var paths []string
	for _, p := range list(cache["paths"]) {
		paths = append(paths, strings.TrimSuffix(p.(string), "/"))
	}
	for _, v := range []string{"GOMODCACHE", "GOCACHE"} {
		dir, ok := strings.CutPrefix(vars[v], "$CI_PROJECT_DIR/")
		if !ok || !slices.Contains(paths, dir) {
			t.Errorf("job %s: %s=%q is not a cached path inside the project (%v)", name, v, vars[v], paths)
		}
	}
}

func TestGitLabCITestJobHasTheServices(t *testing.T) {
	_, jobs := loadCI(t)
	job := jobs["test"]
	aliases := map[string]string{}
	for _, s := range list(job["services"]) {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		alias, _ := m["alias"].(string)
		aliases[strings.Split(name, ":")[0]] = alias
	}
	vars := job.variables()
	for image, variable := range map[string]string{"postgres": "TEST_DATABASE_URL", "rabbitmq": "AMQP_URL"} {
		u, err := url.Parse(vars[variable])
		if aliases[image] == "" || err != nil || u.Hostname() != aliases[image] {
			t.Errorf("test job: %s=%q does not reach the %s service (alias %q)", variable, vars[variable], image, aliases[image])
		}
	}
}

func TestGitLabCIBuildsEveryImage(t *testing.T) {
	_, jobs := loadCI(t)
	job := jobs["build"]
	par, _ := job["parallel"].(map[string]any)
	var built []string
	for _, m := range list(par["matrix"]) {
		entry, _ := m.(map[string]any)
		for _, v := range list(entry["TARGET"]) {
			built = append(built, v.(string))
		}
	}
	if !sameSet(built, targets) {
		t.Errorf("build matrix TARGET %v, want %v", built, targets)
	}
	script := strings.Join(job.lines(), "\n")
	for _, want := range []string{"--file " + dockerfilePath, `--target "$TARGET"`, "--push", `"$CI_REGISTRY_IMAGE/$TARGET:$CI_COMMIT_SHA"`} {
		if !strings.Contains(script, want) {
			t.Errorf("build job does not use %s", want)
		}
	}
}

// TestGitLabCIDeploysTheProdOverlay builds the release kustomization the
// deploy job writes, and checks it runs this commit's images.
func TestGitLabCIDeploysTheProdOverlay(t *testing.T) {
	_, jobs := loadCI(t)
	job := jobs["deploy"]
	manual := false
	for _, r := range list(job["rules"]) {
		rule, _ := r.(map[string]any)
		manual = manual || (rule["if"] == "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" && rule["when"] == "manual")
	}
	if !manual || len(list(job["rules"])) != 1 {
		t.Error("deploy job: want one rule, manual on the default branch")
	}
	file, body := releaseKustomization(t, job)
	applied := false
	for _, line := range job.lines() {
		applied = applied || strings.TrimSpace(line) == "kubectl apply -k "+path.Dir(file)
	}
	if !applied {
		t.Errorf("deploy job does not kubectl apply -k %s", path.Dir(file))
	}
	vars := map[string]string{"CI_REGISTRY_IMAGE": "registry.example.com/group/mailing", "CI_COMMIT_SHA": "0123456789abcdef"}
	body = os.Expand(body, func(k string) string { return vars[k] })
	fs := filesys.MakeFsInMemory()
	copyToMemory(t, fs, repoPath(t, k8sDir))
	if err := fs.WriteFile(repoPath(t, file), []byte(body)); err != nil {
		t.Fatal(err)
	}
	m, err := kustomize(fs, repoPath(t, path.Dir(file)))
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			images = append(images, c.Image)
		}
	}
	for _, want := range []string{"api", "worker"} {
		if !slices.Contains(images, vars["CI_REGISTRY_IMAGE"]+"/"+want+":"+vars["CI_COMMIT_SHA"]) {
			t.Errorf("the release runs %v: no %s image of this commit", images, want)
		}
	}
	for _, img := range images {
		if target(img) != "" && !strings.HasPrefix(img, vars["CI_REGISTRY_IMAGE"]+"/") {
			t.Errorf("the release still runs %s", img)
		}
	}
	prod := policyInput{envKnown: envChecker(t), external: map[string][]string{appSecret: templateKeys(t)}}
	for _, problem := range policy(m, prod) {
		t.Error(problem)
	}
}

// releaseKustomization finds the heredoc of the deploy job that writes a
// kustomization.yaml and returns its repository path and text.
func releaseKustomization(t testing.TB, job ciJob) (string, string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)cat > (\S+/kustomization\.yaml) <<EOF\n(.*?)\nEOF`)
	for _, line := range job.lines() {
		if m := re.FindStringSubmatch(line); m != nil {
			return m[1], m[2]
		}
	}
	t.Fatal("deploy job writes no kustomization.yaml with a heredoc")
	return "", ""
}

// copyToMemory copies the files under dir into fs at the same paths.
func copyToMemory(t testing.TB, fs filesys.FileSystem, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fs.WriteFile(p, b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

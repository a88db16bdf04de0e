package checks

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const composeFile = "docker-compose.yml"

// loadCompose loads docker-compose.yml as `docker compose` does, with env
// as the only variables: neither the test's environment nor a developer's
// .env can change what is checked.
func loadCompose(t testing.TB, env map[string]string) *types.Project {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{repoPath(t, composeFile)},
		cli.WithWorkingDirectory(root(t)), cli.WithEnv(list), cli.WithInterpolation(true))
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return p
}

func service(t testing.TB, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return s
}

func TestComposeHasTheWholeSystem(t *testing.T) {
	p := loadCompose(t, nil)
	want := []string{"postgres", "rabbitmq", "migrate", "api", "worker", "probe-sim", "dev-oidc", "prometheus"}
	if got := p.ServiceNames(); !sameSet(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	for name, n := range p.Networks {
		if n.External {
			t.Errorf("network %s is external: `docker compose up` alone must be enough", name)
		}
	}
	d := parseDockerfile(t)
	for _, s := range p.Services {
		if s.Image != "" {
			if why := pinnedImage(s.Image); why != "" {
				t.Errorf("%s: image %s: %s", s.Name, s.Image, why)
			}
		}
		if s.Build == nil {
			continue
		}
		if s.Build.Dockerfile != dockerfilePath || s.Build.Context != root(t) {
			t.Errorf("%s: builds %s in %s, want %s in the repository root", s.Name, s.Build.Dockerfile, s.Build.Context, dockerfilePath)
		}
		if d.stage(s.Build.Target) == nil {
			t.Errorf("%s: build target %q is not a stage of %s", s.Name, s.Build.Target, dockerfilePath)
		}
	}
}

func TestComposeStartsInOrder(t *testing.T) {
	p := loadCompose(t, nil)
	want := map[string]map[string]string{
		"migrate": {"postgres": types.ServiceConditionHealthy},
		"api":     {"migrate": types.ServiceConditionCompletedSuccessfully, "rabbitmq": types.ServiceConditionHealthy, "dev-oidc": types.ServiceConditionHealthy},
		"worker":  {"migrate": types.ServiceConditionCompletedSuccessfully, "rabbitmq": types.ServiceConditionHealthy},
	}
	for name, deps := range want {
		s := service(t, p, name)
		for dep, cond := range deps {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with %q, want %q", name, dep, got, cond)
			}
		}
	}
	for _, name := range []string{"postgres", "rabbitmq", "api", "worker", "probe-sim", "dev-oidc"} {
		hc := service(t, p, name).HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	// Every service_healthy dependency needs a healthcheck to wait for.
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionHealthy && service(t, p, dep).HealthCheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", s.Name, dep)
			}
		}
	}
	m := service(t, p, "migrate")
	if m.Build == nil || m.Build.Target != "api" || !slices.Equal(m.Command, types.ShellCommand{"migrate"}) || m.Restart != "no" {
		t.Errorf("migrate: want a one-shot `api migrate` (target api, command [migrate], restart no)")
	}
}

func TestComposeBackingServices(t *testing.T) {
	p := loadCompose(t, nil)
	pg := service(t, p, "postgres")
	if !hasVolume(pg, "volume", "/var/lib/postgresql/data") {
		t.Error("postgres: want a named volume on /var/lib/postgresql/data")
	}
	rmq := service(t, p, "rabbitmq")
	if !hasVolume(rmq, "volume", "/var/lib/rabbitmq") {
		t.Error("rabbitmq: want a named volume on /var/lib/rabbitmq")
	}
	if !publishes(rmq, 15672) {
		t.Error("rabbitmq: the management UI (15672) is not published")
	}
	plugins := ""
	for _, c := range rmq.Configs {
		if c.Target == "/etc/rabbitmq/enabled_plugins" {
			plugins = p.Configs[c.Source].Content
		}
	}
	for _, plugin := range []string{"rabbitmq_management", "rabbitmq_prometheus"} {
		if !strings.Contains(plugins, plugin) {
			t.Errorf("rabbitmq: %s is not in enabled_plugins (%q)", plugin, plugins)
		}
	}
	prom := service(t, p, "prometheus")
	for _, f := range []string{"deploy/prometheus/prometheus.yml", "deploy/prometheus/alerts.yml"} {
		found := false
		for _, v := range prom.Volumes {
			found = found || (v.Type == "bind" && v.Source == repoPath(t, f) && v.ReadOnly)
		}
		if !found {
			t.Errorf("prometheus: %s is not mounted read-only", f)
		}
		if fi, err := os.Stat(repoPath(t, f)); err == nil && !fi.Mode().IsRegular() {
			t.Errorf("%s is not a file", f)
		}
	}
}

func TestComposeServicesAreWiredTogether(t *testing.T) {
	p := loadCompose(t, nil)
	api, worker, migrate := service(t, p, "api"), service(t, p, "worker"), service(t, p, "migrate")
	for _, name := range []string{"DATABASE_URL"} {
		if env(api, name) != env(worker, name) || env(api, name) != env(migrate, name) {
			t.Errorf("%s differs between api, worker and migrate", name)
		}
	}
	if env(api, "AMQP_URL") != env(worker, "AMQP_URL") {
		t.Error("AMQP_URL differs between api and worker")
	}
	pg := service(t, p, "postgres")
	checkURL(t, "DATABASE_URL", env(api, "DATABASE_URL"), "postgres", "5432",
		env(pg, "POSTGRES_USER"), env(pg, "POSTGRES_PASSWORD"), "/"+env(pg, "POSTGRES_DB"))
	rmq := service(t, p, "rabbitmq")
	checkURL(t, "AMQP_URL", env(api, "AMQP_URL"), "rabbitmq", "5672",
		env(rmq, "RABBITMQ_DEFAULT_USER"), env(rmq, "RABBITMQ_DEFAULT_PASS"), "/")
	checkURL(t, "PROBE_URL", env(worker, "PROBE_URL"), "probe-sim", targetPorts["probe-sim"], "", "", "/v1")
	if env(worker, "PROBE_TOKEN") == "" {
		t.Error("worker: PROBE_TOKEN is empty; the worker refuses to start without it")
	}
	if env(service(t, p, "probe-sim"), "PROBE_SIM_SECRET") == "" {
		t.Error("probe-sim: PROBE_SIM_SECRET is empty")
	}
	for name, addr := range map[string]string{"api": env(api, "HTTP_ADDR"), "worker": env(worker, "WORKER_HTTP_ADDR")} {
		if addr != ":"+targetPorts[name] {
			t.Errorf("%s listens on %q, want :%s", name, addr, targetPorts[name])
		}
	}
	if !publishes(api, 8080) {
		t.Error("api: port 8080 is not published")
	}
}

// TestComposeWorkerScales: `--scale worker=3` fails on a fixed container
// name or a published host port.
func TestComposeWorkerScales(t *testing.T) {
	w := service(t, loadCompose(t, nil), "worker")
	if w.ContainerName != "" {
		t.Errorf("worker: container_name %q prevents scaling", w.ContainerName)
	}
	for _, port := range w.Ports {
		if port.Published != "" {
			t.Errorf("worker: publishes host port %s; a second replica could not start", port.Published)
		}
	}
}

// TestComposeSetsOnlyKnownVariables catches a misspelt variable, which the
// binaries would silently ignore.
func TestComposeSetsOnlyKnownVariables(t *testing.T) {
	p := loadCompose(t, nil)
	known := configVars(t)
	flags := probeSimFlags(t)
	for _, name := range []string{"api", "migrate", "worker"} {
		for k := range service(t, p, name).Environment {
			if !known[k] {
				t.Errorf("%s: %s is not in the README's Configuration table", name, k)
			}
		}
	}
	for k := range service(t, p, "probe-sim").Environment {
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "PROBE_SIM_"), "_", "-"))
		if !strings.HasPrefix(k, "LOG_") && (!strings.HasPrefix(k, "PROBE_SIM_") || !flags[flag]) {
			t.Errorf("probe-sim: %s sets no flag of probe-sim", k)
		}
	}
	devVars := devOIDCVars(t)
	for k := range service(t, p, "dev-oidc").Environment {
		if !devVars[k] {
			t.Errorf("dev-oidc: %s is not in the Settings table of docs/dev-oidc.md", k)
		}
	}
}

// TestEnvExampleMatchesComposeDefaults: .env.example lists every variable
// the compose file reads, with the very defaults the file falls back to,
// so copying it to .env changes nothing until it is edited.
func TestEnvExampleMatchesComposeDefaults(t *testing.T) {
	example := readDotEnv(t, ".env.example")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(readRepoFile(t, composeFile)), -1) {
		used[m[1]] = true
	}
	for k := range used {
		if _, ok := example[k]; !ok {
			t.Errorf("%s is read by %s but missing from .env.example", k, composeFile)
		}
	}
	for k := range example {
		if !used[k] {
			t.Errorf(".env.example sets %s, which %s never reads", k, composeFile)
		}
	}
	bare, withExample := loadCompose(t, nil), loadCompose(t, example)
	for _, name := range bare.ServiceNames() {
		a, b := service(t, bare, name), service(t, withExample, name)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("service %s differs with .env.example from the compose defaults", name)
		}
	}
	changed := loadCompose(t, map[string]string{"JWT_SECRET": "another-secret-of-at-least-thirty-two-bytes"})
	if env(service(t, changed, "api"), "JWT_SECRET") != "another-secret-of-at-least-thirty-two-bytes" {
		t.Error("a .env value does not reach the services")
	}
	if !bytes.Contains(readRepoFile(t, ".env.example"), []byte("DEVELOPMENT DEFAULTS")) {
		t.Error(".env.example must say its values are public development defaults")
	}
}

// readDotEnv parses KEY=VALUE lines, skipping comments and blank lines.
func readDotEnv(t testing.TB, rel string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, rel)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", rel, line)
		}
		out[k] = v
	}
	return out
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func hasVolume(s types.ServiceConfig, typ, target string) bool {
	for _, v := range s.Volumes {
		if v.Type == typ && v.Target == target {
			return true
		}
	}
	return false
}

func publishes(s types.ServiceConfig, target uint32) bool {
	for _, p := range s.Ports {
		if p.Target == target && p.Published != "" {
			return true
		}
	}
	return false
}

// checkURL parses raw and compares its parts; empty wants are not checked.
func checkURL(t *testing.T, name, raw, host, port, user, password, path string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s %q: %v", name, raw, err)
		return
	}
	pw, _ := u.User.Password()
	parts := []string{"host", "port", "user", "password", "path"}
	got := []string{u.Hostname(), u.Port(), u.User.Username(), pw, u.Path}
	want := []string{host, port, user, password, path}
	for i := range want {
		if want[i] != "" && got[i] != want[i] {
			t.Errorf("%s %q: %s is %q, want %q", name, raw, parts[i], got[i], want[i])
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

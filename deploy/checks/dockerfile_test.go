package checks

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// What each target serves on, as the compose file and manifests expect.
var targetPorts = map[string]string{"api": "8080", "worker": "9090", "probe-sim": "8090", "dev-oidc": "8091"}

func TestDockerfileIsMultiStageWithPinnedBases(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.stages) < 2 {
		t.Fatalf("%d stage(s): want a build stage and minimal final stages", len(d.stages))
	}
	for _, s := range d.stages {
		if d.stage(s.BaseName) != nil {
			continue
		}
		img, err := expand(s.BaseName, d.metaArgs)
		if err != nil {
			t.Fatalf("stage %s: %v", s.Name, err)
		}
		if p := pinnedImage(img); p != "" {
			t.Errorf("stage %s: FROM %s: %s", s.Name, img, p)
		}
	}
}

// pinnedImage explains why an image reference is not pinned, or returns "".
func pinnedImage(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return "no tag (that is latest)"
	case tag == "latest":
		return "the latest tag moves under you"
	}
	return ""
}

func TestDockerfileTargetsRunAsNonRootWithHealthcheck(t *testing.T) {
	d := parseDockerfile(t)
	for _, target := range imageTargets {
		t.Run(target, func(t *testing.T) {
			cfg := d.effective(t, target)
			// Kubernetes can only verify runAsNonRoot against a numeric user.
			uid, _, _ := strings.Cut(cfg.user, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("USER %q: want a numeric, non-root user", cfg.user)
			}
			base := d.baseImage(t, target)
			if !strings.Contains(base, "distroless/static") && base != "scratch" {
				t.Errorf("final image based on %s: want distroless static or scratch", base)
			}
			if !slices.Contains(cfg.exposed, targetPorts[target]) {
				t.Errorf("EXPOSE %v: want %s", cfg.exposed, targetPorts[target])
			}
			for _, l := range []string{"title", "description", "version", "revision"} {
				if cfg.labels["org.opencontainers.image."+l] == "" {
					t.Errorf("no org.opencontainers.image.%s label", l)
				}
			}
			checkEntrypoint(t, cfg, target)
			checkHealthcheck(t, cfg)
		})
	}
}

// checkEntrypoint wants the exec form, so that the binary is PID 1 and
// gets SIGTERM for its graceful shutdown, and a binary the image copies in.
func checkEntrypoint(t *testing.T, cfg imageConfig, target string) {
	t.Helper()
	ep := cfg.entrypoint
	if ep == nil || ep.PrependShell || len(ep.CmdLine) == 0 {
		t.Errorf("want ENTRYPOINT in exec form ([\"/path/binary\"])")
		return
	}
	if !slices.Contains(cfg.copied, ep.CmdLine[0]) {
		t.Errorf("ENTRYPOINT %s is not a file the image copies in (%v)", ep.CmdLine[0], cfg.copied)
	}
	if !strings.HasSuffix(ep.CmdLine[0], "/"+target) {
		t.Errorf("ENTRYPOINT %s: want the %s binary", ep.CmdLine[0], target)
	}
}

func checkHealthcheck(t *testing.T, cfg imageConfig) {
	t.Helper()
	hc := cfg.healthcheck
	if hc == nil || hc.Health == nil || len(hc.Health.Test) < 2 || hc.Health.Test[0] != "CMD" {
		t.Errorf("want HEALTHCHECK CMD [...] in exec form: the image has no shell")
		return
	}
	if !slices.Contains(cfg.copied, hc.Health.Test[1]) {
		t.Errorf("HEALTHCHECK runs %s, which the image does not copy in", hc.Health.Test[1])
	}
}

func TestDockerfileBuildStageUsesModuleCacheAndNoCgo(t *testing.T) {
	d := parseDockerfile(t)
	for _, name := range buildStages(t, d) {
		s := d.stage(name)
		env := map[string]string{}
		cached := false
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					env[kv.Key] = kv.Value
				}
			case *instructions.RunCommand:
				// Expanding parses the --mount flags.
				if err := c.Expand(func(w string) (string, error) { return expand(w, env) }); err != nil {
					t.Fatalf("stage %s: %v", name, err)
				}
				for _, m := range instructions.GetMounts(c) {
					cached = cached || (m.Type == instructions.MountTypeCache && m.Target == "/go/pkg/mod")
				}
			}
		}
		if env["CGO_ENABLED"] != "0" {
			t.Errorf("stage %s: want ENV CGO_ENABLED=0 (static binaries for a libc-less image)", name)
		}
		if !cached {
			t.Errorf("stage %s: want RUN --mount=type=cache,target=/go/pkg/mod", name)
		}
	}
}

// buildStages names the stages the targets COPY --from.
func buildStages(t testing.TB, d *dockerfile) []string {
	t.Helper()
	var names []string
	for _, target := range imageTargets {
		for _, s := range d.lineage(t, target) {
			for _, c := range s.Commands {
				if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && !slices.Contains(names, cp.From) {
					names = append(names, cp.From)
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no target copies from a build stage")
	}
	return names
}

// TestDockerfileBuildsFromACleanContext replays the build stage and checks
// every file the targets copy out of it: the entry binaries must be static,
// built without cgo, stamped with the version and carry the time zones.
// What a target copies from the build context must be in that context.
func TestDockerfileBuildsFromACleanContext(t *testing.T) {
	d := parseDockerfile(t)
	files, err := contextFiles(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range imageTargets {
		t.Run(target, func(t *testing.T) {
			cfg := d.effective(t, target)
			for _, s := range d.lineage(t, target) {
				for _, c := range s.Commands {
					cp, ok := c.(*instructions.CopyCommand)
					if !ok {
						continue
					}
					if cp.From == "" {
						for _, src := range cp.SourcePaths {
							if !inContext(files, src) {
								t.Errorf("COPY %s: nothing in the build context has this path (missing, or excluded by .dockerignore)", src)
							}
						}
						continue
					}
					stage := replayStage(t, cp.From)
					for _, src := range cp.SourcePaths {
						b, ok := stage.builds[src]
						if !ok {
							t.Errorf("COPY --from=%s %s: no go build in that stage writes it", cp.From, src)
							continue
						}
						checkStaticBinary(t, stage.host(src))
						if cfg.entrypoint != nil && copyDest(cp.DestPath, src, len(cp.SourcePaths)) == cfg.entrypoint.CmdLine[0] {
							checkEntryBinary(t, stage, b, target == "api")
						}
					}
				}
			}
		})
	}
}

// inContext tells whether the build context holds the file or directory
// src.
func inContext(files []string, src string) bool {
	src = strings.Trim(path.Clean("/"+src), "/")
	for _, f := range files {
		if src == "" || f == src || strings.HasPrefix(f, src+"/") {
			return true
		}
	}
	return false
}

func checkStaticBinary(t *testing.T, file string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked: it cannot run on a libc-less image", file)
		}
	}
	info, err := buildinfo.ReadFile(file)
	if err != nil {
		t.Errorf("%s: read build info: %v", file, err)
		return
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Errorf("%s built with CGO_ENABLED=%s", file, s.Value)
		}
	}
}

// checkEntryBinary checks the program a target runs: the version stamp and
// the embedded time zone database (the image has no zoneinfo to rely on).
// hasVersion tells that the program declares main.version, so the stamp
// must be found in the binary itself.
func checkEntryBinary(t *testing.T, stage *replayedStage, b goBuild, hasVersion bool) {
	t.Helper()
	// -trimpath keeps -ldflags out of the build info: look at the command.
	if !strings.Contains(strings.Join(b.argv, " "), "-X main.version="+buildArgVersion) {
		t.Errorf("%s: -ldflags does not stamp main.version with the VERSION build argument", b.output)
	}
	if hasVersion {
		bin, err := os.ReadFile(stage.host(b.output))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(bin, []byte(buildArgVersion)) {
			t.Errorf("%s: the version %q is not in the binary", b.output, buildArgVersion)
		}
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-tags=" + b.tags}, b.packages...)...)
	cmd.Dir, cmd.Env = stage.host(b.dir), b.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %v: %v\n%s", b.packages, err, out)
	}
	if !slices.Contains(strings.Fields(string(out)), "time/tzdata") {
		t.Errorf("%v does not import time/tzdata: time zones would depend on the image", b.packages)
	}
}

// workspace is what go.work declares, as `go work edit -json` prints it.
type workspace struct {
	Use []struct {
		DiskPath string
	}
	Replace []json.RawMessage
}

func readWorkspace(t testing.TB) workspace {
	t.Helper()
	out, err := exec.Command("go", "work", "edit", "-json", repoPath(t, "go.work")).Output()
	if err != nil {
		t.Fatalf("go work edit -json: %v", err)
	}
	var w workspace
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatalf("decode go.work: %v", err)
	}
	if len(w.Use) == 0 {
		t.Fatal("go.work uses no module")
	}
	return w
}

// Modules find each other through go.work alone (DESIGN.md §2).
func TestWorkspaceHasNoReplaceDirectives(t *testing.T) {
	if w := readWorkspace(t); len(w.Replace) > 0 {
		t.Errorf("go.work has %d replace directive(s): the modules must resolve through use alone", len(w.Replace))
	}
}

// Every module go.work uses is copied into the build stage or dropped from
// its workspace there (go work edit -dropuse): otherwise no go command of
// the stage can load the workspace.
func TestDockerfileBuildStageHandlesEveryWorkspaceModule(t *testing.T) {
	w := readWorkspace(t)
	d := parseDockerfile(t)
	for _, name := range buildStages(t, d) {
		copied, dropped := map[string]bool{}, map[string]bool{}
		for _, s := range d.lineage(t, name) {
			for _, c := range s.Commands {
				switch c := c.(type) {
				case *instructions.CopyCommand:
					if c.From != "" {
						continue
					}
					for _, src := range c.SourcePaths {
						copied[strings.Trim(path.Clean("/"+src), "/")] = true
					}
				case *instructions.RunCommand:
					for _, dir := range droppedModules(t, c) {
						dropped[dir] = true
					}
				}
			}
		}
		for _, u := range w.Use {
			dir := strings.Trim(path.Clean("/"+u.DiskPath), "/")
			if !dropped[dir] && !copied[dir+"/go.mod"] && !copied[dir] {
				t.Errorf("stage %s: go.work uses %s, which the stage neither copies (%s/go.mod) nor drops (go work edit -dropuse=%s)",
					name, u.DiskPath, dir, u.DiskPath)
			}
		}
	}
}

// droppedModules lists the modules a RUN removes from the workspace.
func droppedModules(t testing.TB, c *instructions.RunCommand) []string {
	t.Helper()
	var out []string
	for _, seg := range commandSeparator.Split(strings.Join(c.CmdLine, " "), -1) {
		argv, err := words(seg, map[string]string{})
		if err != nil {
			t.Fatalf("RUN %q: %v", seg, err)
		}
		if len(argv) < 3 || argv[0] != "go" || argv[1] != "work" || argv[2] != "edit" {
			continue
		}
		for i := 3; i < len(argv); i++ {
			switch v, ok := strings.CutPrefix(argv[i], "-dropuse="); {
			case ok:
				out = append(out, strings.Trim(path.Clean("/"+v), "/"))
			case argv[i] == "-dropuse" && i+1 < len(argv):
				out = append(out, strings.Trim(path.Clean("/"+argv[i+1]), "/"))
				i++
			}
		}
	}
	return out
}

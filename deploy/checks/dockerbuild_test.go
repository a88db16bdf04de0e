package checks

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// The build stages of the Dockerfile are replayed on the host: COPY takes
// files from the build context (the working tree's tracked and untracked,
// not git-ignored files, less what .dockerignore excludes) into a
// temporary directory standing for the stage's filesystem, and every go
// command of its RUN instructions runs there with the stage's ENV and ARGs.
// A Dockerfile that copies a path that no longer exists, or a build that
// needs a file the COPYs leave out, fails here as it would in Docker.

// buildArgVersion is passed as --build-arg VERSION, to see it stamped.
const buildArgVersion = "checks-version-stamp"

// goBuild is one replayed "go build".
type goBuild struct {
	argv     []string // the command, variables expanded
	dir      string   // container directory it ran in (after cd and -C)
	output   string   // container path of -o
	packages []string // package arguments
	tags     string   // -tags
	env      []string // environment of the run
}

// replayedStage is the outcome of replaying one stage.
type replayedStage struct {
	root   string // host directory standing for the stage's "/"
	builds map[string]goBuild
}

// host maps a container path of the stage to the host.
func (s *replayedStage) host(p string) string {
	return filepath.Join(s.root, filepath.FromSlash(p))
}

// replayed holds the stages replayed once per test binary, by name.
var replayed struct {
	once   sync.Once
	stages map[string]*replayedStage
	err    error
	tmp    string
}

// replayStage replays the named stage once and returns it; later calls,
// from any test, reuse the result.
func replayStage(t testing.TB, name string) *replayedStage {
	t.Helper()
	replayed.once.Do(func() {
		// Set first: a t.Fatal inside leaves this error for later callers.
		replayed.err = fmt.Errorf("replay aborted in %s", t.Name())
		replayed.stages, replayed.err = replayBuildStages(t)
	})
	if replayed.err != nil {
		t.Fatalf("replay the Dockerfile's build stages: %v", replayed.err)
	}
	s := replayed.stages[strings.ToLower(name)]
	if s == nil {
		t.Fatalf("stage %q is not a build stage of %s", name, dockerfilePath)
	}
	return s
}

// replayBuildStages replays every stage that a target COPYs --from.
func replayBuildStages(t testing.TB) (map[string]*replayedStage, error) {
	d := parseDockerfile(t)
	files, err := contextFiles(t)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "dockerfile-replay-")
	if err != nil {
		return nil, err
	}
	replayed.tmp = tmp
	out := map[string]*replayedStage{}
	for _, target := range imageTargets {
		for _, s := range d.lineage(t, target) {
			for _, c := range s.Commands {
				cp, ok := c.(*instructions.CopyCommand)
				if !ok || cp.From == "" || out[strings.ToLower(cp.From)] != nil {
					continue
				}
				st := &replayedStage{root: filepath.Join(tmp, cp.From), builds: map[string]goBuild{}}
				if err := st.replay(d, cp.From, root(t), files); err != nil {
					return nil, fmt.Errorf("stage %s: %w", cp.From, err)
				}
				out[strings.ToLower(cp.From)] = st
			}
		}
	}
	return out, nil
}

// contextFiles lists the build context, slash-separated and relative to
// the repository root.
func contextFiles(t testing.TB) ([]string, error) {
	rootDir := root(t)
	out, err := exec.Command("git", "-C", rootDir, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	ignore, err := os.Open(filepath.Join(rootDir, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	defer ignore.Close()
	patterns, err := ignorefile.ReadAll(ignore)
	if err != nil {
		return nil, fmt.Errorf("parse .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("compile .dockerignore: %w", err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		if excluded, err := pm.MatchesOrParentMatches(f); err != nil || excluded {
			continue
		}
		// Tracked files deleted in the working tree are not in the context.
		if fi, err := os.Lstat(filepath.Join(rootDir, filepath.FromSlash(f))); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		files = append(files, f)
	}
	return files, nil
}

// stageState is what the instructions of a stage have set so far.
type stageState struct {
	d       *dockerfile
	repo    string            // repository root: the build context
	env     map[string]string // ARG and ENV values
	cwd     string
	context []string
}

func (s *replayedStage) replay(d *dockerfile, name, repo string, context []string) error {
	st := &stageState{d: d, repo: repo, env: map[string]string{}, cwd: "/", context: context}
	var chain []*instructions.Stage
	for p := d.stage(name); p != nil; p = d.stage(p.BaseName) {
		chain = append([]*instructions.Stage{p}, chain...)
	}
	for _, stage := range chain {
		for _, c := range stage.Commands {
			if err := s.apply(st, c); err != nil {
				return fmt.Errorf("%s: %w", c.Name(), err)
			}
		}
	}
	return nil
}

func (s *replayedStage) apply(st *stageState, c instructions.Command) error {
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, declared := st.d.metaArgs[kv.Key]
			switch {
			case kv.Key == "VERSION": // as --build-arg VERSION=...
				v = buildArgVersion
			case kv.Value != nil:
				var err error
				if v, err = expand(*kv.Value, st.env); err != nil {
					return err
				}
			case !declared:
				v = ""
			}
			st.env[kv.Key] = v
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			v, err := expand(kv.Value, st.env)
			if err != nil {
				return err
			}
			st.env[kv.Key] = v
		}
	case *instructions.WorkdirCommand:
		p, err := expand(c.Path, st.env)
		if err != nil {
			return err
		}
		st.cwd = containerPath(st.cwd, p)
		return os.MkdirAll(s.host(st.cwd), 0o755)
	case *instructions.CopyCommand:
		if c.From != "" {
			return fmt.Errorf("COPY --from=%s inside a build stage is not replayed", c.From)
		}
		return s.copy(st, c)
	case *instructions.RunCommand:
		return s.run(st, c)
	}
	return nil
}

// copy copies COPY's sources from the build context into the stage.
func (s *replayedStage) copy(st *stageState, c *instructions.CopyCommand) error {
	dest, err := expand(c.DestPath, st.env)
	if err != nil {
		return err
	}
	if !path.IsAbs(dest) {
		// Keep a trailing slash: it makes dest a directory for copyDest.
		dir := strings.HasSuffix(dest, "/")
		dest = path.Join(st.cwd, dest)
		if dir {
			dest += "/"
		}
	}
	for _, raw := range c.SourcePaths {
		src, err := expand(raw, st.env)
		if err != nil {
			return err
		}
		if strings.ContainsAny(src, "*?[") {
			return fmt.Errorf("COPY %s: wildcards are not replayed; name the files", src)
		}
		src = strings.Trim(path.Clean("/"+src), "/")
		n := 0
		for _, f := range st.context {
			var to string
			switch {
			case f == src:
				to = copyDest(dest, src, len(c.SourcePaths))
			case src == "" || strings.HasPrefix(f, src+"/"):
				to = path.Join(dest, strings.TrimPrefix(strings.TrimPrefix(f, src), "/"))
			default:
				continue
			}
			if err := copyFile(filepath.Join(st.repo, filepath.FromSlash(f)), s.host(to)); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return fmt.Errorf("COPY %s: nothing in the build context has this path (missing, or excluded by .dockerignore)", raw)
		}
	}
	return nil
}

// containerPath resolves p against the directory dir, as a shell would.
func containerPath(dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(dir, p)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

var (
	// assignment matches a leading VAR=value word of a shell command.
	assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	// commandSeparator splits a shell command line into simple commands.
	commandSeparator = regexp.MustCompile(`&&|;|\n`)
)

// run replays the go commands of a RUN; a cd changes the directory of the
// rest of the command line. Other commands cannot be replayed and fail the
// check, so that it never passes over a step it did not perform.
func (s *replayedStage) run(st *stageState, c *instructions.RunCommand) error {
	if !c.PrependShell {
		return s.runGo(st, st.cwd, nil, c.CmdLine)
	}
	cwd := st.cwd
	for _, seg := range commandSeparator.Split(strings.Join(c.CmdLine, " "), -1) {
		argv, err := words(seg, st.env)
		if err != nil {
			return err
		}
		var env []string
		for len(argv) > 0 && assignment.MatchString(argv[0]) {
			env, argv = append(env, argv[0]), argv[1:]
		}
		switch {
		case len(argv) == 0:
		case argv[0] == "cd" && len(argv) == 2:
			cwd = containerPath(cwd, argv[1])
		case argv[0] == "go":
			if err := s.runGo(st, cwd, env, argv); err != nil {
				return err
			}
		default:
			return fmt.Errorf("RUN %q: only go and cd commands are replayed", seg)
		}
	}
	return nil
}

// runGo runs one go command of the stage with the host's toolchain and
// caches, and records what a go build produced.
func (s *replayedStage) runGo(st *stageState, cwd string, assigned, argv []string) error {
	args := append([]string(nil), argv[1:]...)
	b := goBuild{argv: argv, dir: cwd}
	sub := ""
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-C" && i+1 < len(args):
			b.dir = containerPath(b.dir, args[i+1])
			i++
		case args[i] == "-o" && i+1 < len(args):
			b.output = containerPath(b.dir, args[i+1])
			args[i+1] = s.host(b.output)
			i++
		case args[i] == "-tags" && i+1 < len(args):
			b.tags = args[i+1]
			i++
		case strings.HasPrefix(args[i], "-tags="):
			b.tags = strings.TrimPrefix(args[i], "-tags=")
		case args[i] == "-ldflags" || args[i] == "-gcflags":
			i++
		case strings.HasPrefix(args[i], "-"):
		case sub == "":
			sub = args[i]
		case sub == "build":
			b.packages = append(b.packages, args[i])
		}
	}
	b.env = stageEnv(st.env, assigned)
	cmd := exec.Command("go", args...)
	cmd.Dir = s.host(cwd)
	cmd.Env = b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), cwd, err, out.String())
	}
	if sub == "build" {
		if b.output == "" {
			return fmt.Errorf("%s: give the binary's path with -o", strings.Join(argv, " "))
		}
		s.builds[b.output] = b
	}
	return nil
}

// stageEnv is the host's environment without the Go settings of this test
// run (GOWORK=off, GOFLAGS), plus the stage's ARG and ENV values and the
// command's own assignments, which win.
func stageEnv(stage map[string]string, assigned []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOWORK", "GOFLAGS", "CGO_ENABLED", "GOOS", "GOARCH", "GOTOOLCHAIN":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GOTOOLCHAIN=local")
	for k, v := range stage {
		env = append(env, k+"="+v)
	}
	return append(env, assigned...)
}

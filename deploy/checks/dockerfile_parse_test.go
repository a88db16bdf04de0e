package checks

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

const dockerfilePath = "deploy/docker/Dockerfile"

// dockerfile is a parsed Dockerfile: its stages and the defaults of the
// ARGs declared before the first FROM.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
}

func parseDockerfile(t testing.TB) *dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readRepoFile(t, dockerfilePath)))
	if err != nil {
		t.Fatalf("parse %s: %v", dockerfilePath, err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("parse instructions of %s: %v", dockerfilePath, err)
	}
	d := &dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range meta {
		for _, kv := range a.Args {
			d.metaArgs[kv.Key] = ""
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

// stage returns the stage called name (stage names are case-insensitive).
func (d *dockerfile) stage(name string) *instructions.Stage {
	if i, ok := instructions.HasStage(d.stages, name); ok {
		return &d.stages[i]
	}
	return nil
}

// lineage returns a stage followed by the stages it is built FROM, up to
// the one built from an image.
func (d *dockerfile) lineage(t testing.TB, name string) []*instructions.Stage {
	t.Helper()
	var out []*instructions.Stage
	for s := d.stage(name); s != nil; s = d.stage(s.BaseName) {
		if slices.Contains(out, s) {
			t.Fatalf("stage %s: FROM cycle", name)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no stage %q", dockerfilePath, name)
	}
	return out
}

// baseImage is the image the lineage of a stage starts from, with the
// global ARGs expanded as BuildKit does.
func (d *dockerfile) baseImage(t testing.TB, name string) string {
	t.Helper()
	chain := d.lineage(t, name)
	img, err := expand(chain[len(chain)-1].BaseName, d.metaArgs)
	if err != nil {
		t.Fatalf("stage %s: expand FROM: %v", name, err)
	}
	return img
}

// effective returns what a target's image configuration ends up with:
// the last USER, ENTRYPOINT and HEALTHCHECK and every LABEL, ENV and
// EXPOSE, through the stages it derives from.
type imageConfig struct {
	user        string
	entrypoint  *instructions.EntrypointCommand
	healthcheck *instructions.HealthCheckCommand
	labels      map[string]string
	env         map[string]string
	exposed     []string
	copied      []string          // destination paths of COPY instructions
	fromContext map[string]string // destination to source of the COPYs from the build context
}

func (d *dockerfile) effective(t testing.TB, name string) imageConfig {
	t.Helper()
	cfg := imageConfig{labels: map[string]string{}, env: map[string]string{}, fromContext: map[string]string{}}
	chain := d.lineage(t, name)
	for i := len(chain) - 1; i >= 0; i-- {
		for _, c := range chain[i].Commands {
			switch c := c.(type) {
			case *instructions.UserCommand:
				cfg.user = c.User
			case *instructions.EntrypointCommand:
				cfg.entrypoint = c
			case *instructions.HealthCheckCommand:
				cfg.healthcheck = c
			case *instructions.LabelCommand:
				for _, kv := range c.Labels {
					cfg.labels[kv.Key] = kv.Value
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					cfg.env[kv.Key] = kv.Value
				}
			case *instructions.ExposeCommand:
				cfg.exposed = append(cfg.exposed, c.Ports...)
			case *instructions.CopyCommand:
				for _, src := range c.SourcePaths {
					dest := copyDest(c.DestPath, src, len(c.SourcePaths))
					cfg.copied = append(cfg.copied, dest)
					if c.From == "" {
						cfg.fromContext[dest] = src
					}
				}
			}
		}
	}
	return cfg
}

// copyDest is where COPY puts src: into dest when dest names a directory
// (trailing slash, or several sources), else at dest itself.
func copyDest(dest, src string, sources int) string {
	if strings.HasSuffix(dest, "/") || sources > 1 {
		return strings.TrimSuffix(dest, "/") + "/" + lastElem(src)
	}
	return dest
}

func lastElem(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// mapEnv adapts a map to BuildKit's variable lookup.
type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string              { return slices.Sorted(maps.Keys(m)) }

// expand substitutes variables in word the way BuildKit does.
func expand(word string, env map[string]string) (string, error) {
	out, _, err := shell.NewLex('\\').ProcessWord(word, mapEnv(env))
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", word, err)
	}
	return out, nil
}

// words splits a shell command into words, expanding variables.
func words(cmd string, env map[string]string) ([]string, error) {
	out, err := shell.NewLex('\\').ProcessWords(cmd, mapEnv(env))
	if err != nil {
		return nil, fmt.Errorf("split %q: %w", cmd, err)
	}
	return out, nil
}

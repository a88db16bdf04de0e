package checks

import (
	"fmt"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const k8sDir = "deploy/k8s"

// decoder decodes YAML strictly into the k8s.io/api types: an unknown or
// duplicated field, or a kind outside these groups, is an error.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, networkingv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv2.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// manifests are the decoded objects of one kustomize build.
type manifests struct {
	dir     string
	objects []runtime.Object
}

// kustomize builds dir (a path in fs) and decodes every object strictly.
func kustomize(fs filesys.FileSystem, dir string) (*manifests, error) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	m := &manifests{dir: dir}
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		obj, _, err := decoder.Decode(y, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: decode %s: %w", dir, r.CurId(), err)
		}
		m.objects = append(m.objects, obj)
	}
	return m, nil
}

// buildKustomization builds a kustomization of the repository, e.g.
// "overlays/dev".
func buildKustomization(t testing.TB, rel string) *manifests {
	t.Helper()
	m, err := kustomize(filesys.MakeFsOnDisk(), repoPath(t, filepath.ToSlash(filepath.Join(k8sDir, rel))))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// workload is the pod-creating part of a Deployment, StatefulSet or Job.
type workload struct {
	kind, name, namespace string
	selector              *metav1.LabelSelector
	template              corev1.PodTemplateSpec
	replicas              *int32
	long                  bool // a server, which needs probes; a Job does not
}

func (m *manifests) workloads() []workload {
	var out []workload
	for _, o := range m.objects {
		switch o := o.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{"Deployment", o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, o.Spec.Replicas, true})
		case *appsv1.StatefulSet:
			out = append(out, workload{"StatefulSet", o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, o.Spec.Replicas, true})
		case *batchv1.Job:
			out = append(out, workload{"Job", o.Name, o.Namespace, o.Spec.Selector, o.Spec.Template, nil, false})
		}
	}
	return out
}

// workload returns the workload of that kind and name, or nil.
func (m *manifests) workload(kind, name string) *workload {
	for _, w := range m.workloads() {
		if w.kind == kind && w.name == name {
			return &w
		}
	}
	return nil
}

// all returns the objects of type T.
func all[T runtime.Object](m *manifests) []T {
	var out []T
	for _, o := range m.objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func (m *manifests) service(namespace, name string) *corev1.Service {
	for _, s := range all[*corev1.Service](m) {
		if s.Namespace == namespace && s.Name == name {
			return s
		}
	}
	return nil
}

func (m *manifests) secret(namespace, name string) *corev1.Secret {
	for _, s := range all[*corev1.Secret](m) {
		if s.Namespace == namespace && s.Name == name {
			return s
		}
	}
	return nil
}

func (m *manifests) configMap(namespace, name string) *corev1.ConfigMap {
	for _, c := range all[*corev1.ConfigMap](m) {
		if c.Namespace == namespace && c.Name == name {
			return c
		}
	}
	return nil
}

// secretValue reads a key of a Secret, from data or stringData.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

func TestEveryKustomizationBuildsAndDecodesStrictly(t *testing.T) {
	overlays, err := filepath.Glob(repoPath(t, k8sDir+"/overlays/*/kustomization.yaml"))
	if err != nil || len(overlays) < 2 {
		t.Fatalf("overlays: %v %v", overlays, err)
	}
	for _, k := range append(overlays, repoPath(t, k8sDir+"/base/kustomization.yaml")) {
		dir := filepath.Dir(k)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, err := kustomize(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.objects) == 0 {
				t.Fatal("no objects")
			}
		})
	}
}

// TestStrictDecodingRejectsUnknownFields keeps the decoder honest: a
// misspelt field must fail the build check, not vanish.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	files := map[string]string{
		"/k/kustomization.yaml": "resources: [svc.yaml]\n",
		"/k/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selectr: {a: b}\n  ports: [{port: 80}]\n",
	}
	for name, body := range files {
		if err := fs.WriteFile(name, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kustomize(fs, "/k"); err == nil {
		t.Fatal("a Service with the unknown field spec.selectr decoded without error")
	}
}

package checks

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const appSecret = "mailing-secrets"

// envChecker allows the variables of the README's Configuration table to
// the API and the worker, and probe-sim's flags (PROBE_SIM_*) and logging
// settings to probe-sim.
func envChecker(t testing.TB) func(target, name string) bool {
	t.Helper()
	known, flags := configVars(t), probeSimFlags(t)
	return func(target, name string) bool {
		if target != "probe-sim" {
			return known[name]
		}
		flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "PROBE_SIM_"), "_", "-"))
		return strings.HasPrefix(name, "LOG_") || (strings.HasPrefix(name, "PROBE_SIM_") && flags[flag])
	}
}

// templateKeys are the keys of the base's Secret template: what an
// operator must put into the Secret created outside the repository.
func templateKeys(t testing.TB) []string {
	t.Helper()
	s := buildKustomization(t, "base").secret(namespace, appSecret)
	if s == nil {
		t.Fatalf("base has no Secret %s template", appSecret)
	}
	var keys []string
	for k := range s.StringData {
		keys = append(keys, k)
	}
	return keys
}

func TestKustomizationsFollowThePolicy(t *testing.T) {
	in := policyInput{envKnown: envChecker(t)}
	prod := in
	prod.external = map[string][]string{appSecret: templateKeys(t)}
	for rel, in := range map[string]policyInput{"base": in, "overlays/dev": in, "overlays/prod": prod} {
		t.Run(rel, func(t *testing.T) {
			for _, problem := range policy(buildKustomization(t, rel), in) {
				t.Error(problem)
			}
		})
	}
}

func TestBaseSecretIsATemplate(t *testing.T) {
	m := buildKustomization(t, "base")
	s := m.secret(namespace, appSecret)
	if s == nil {
		t.Fatalf("no Secret %s", appSecret)
	}
	for k, v := range s.StringData {
		if !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("Secret template key %s holds a value, not a placeholder", k)
		}
	}
	// The template lists every key a workload reads.
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			for _, e := range c.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name == appSecret {
					if _, ok := s.StringData[r.SecretKeyRef.Key]; !ok {
						t.Errorf("%s %s reads %s, missing from the Secret template", w.kind, w.name, r.SecretKeyRef.Key)
					}
				}
			}
		}
	}
}

func TestDevOverlayIsACompleteSystem(t *testing.T) {
	m := buildKustomization(t, "overlays/dev")
	for _, name := range []string{"postgres", "rabbitmq"} {
		s := m.workload("StatefulSet", name)
		if s == nil {
			t.Errorf("no StatefulSet %s", name)
			continue
		}
		var sts *appsv1.StatefulSet
		for _, o := range all[*appsv1.StatefulSet](m) {
			if o.Name == name {
				sts = o
			}
		}
		if len(sts.Spec.VolumeClaimTemplates) == 0 {
			t.Errorf("StatefulSet %s keeps no data: no volumeClaimTemplates", name)
		}
	}
	if m.workload("Deployment", "probe-sim") == nil || m.service(namespace, "probe-sim") == nil {
		t.Error("no probe-sim Deployment and Service")
	}
	secret := m.secret(namespace, appSecret)
	cfg := m.configMap(namespace, "mailing-config")
	if secret == nil || cfg == nil {
		t.Fatal("no Secret or ConfigMap for the service")
	}
	for k, v := range secret.StringData {
		if strings.Contains(v, "REPLACE-ME") {
			t.Errorf("Secret key %s still holds the template's placeholder", k)
		}
	}
	value := func(key string) string { v, _ := secretValue(secret, key); return v }
	checkServiceURL(t, m, "DATABASE_URL", value("DATABASE_URL"), "postgres")
	checkServiceURL(t, m, "AMQP_URL", value("AMQP_URL"), "rabbitmq")
	checkServiceURL(t, m, "PROBE_URL", cfg.Data["PROBE_URL"], "probe-sim")
	checkCredentials(t, m, "DATABASE_URL", value("DATABASE_URL"), "postgres", "POSTGRES_USER", "POSTGRES_PASSWORD")
	checkCredentials(t, m, "AMQP_URL", value("AMQP_URL"), "rabbitmq", "RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS")
	checkTokenPair(t, "overlays/dev", value("PROBE_SIM_SECRET"), value("PROBE_TOKEN"))
}

// checkServiceURL: the URL's host is a Service of the build with its port.
func checkServiceURL(t *testing.T, m *manifests, name, raw, service string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() != service {
		t.Errorf("%s %q: want host %s (%v)", name, raw, service, err)
		return
	}
	svc := m.service(namespace, service)
	if svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return u.Port() == itoa32(p.Port) }) {
		t.Errorf("%s %q: no Service %s with port %s", name, raw, service, u.Port())
	}
}

// checkCredentials: the URL's user and password are the ones the server
// container is started with.
func checkCredentials(t *testing.T, m *manifests, name, raw, workload, userVar, passVar string) {
	t.Helper()
	w := m.workload("StatefulSet", workload)
	u, err := url.Parse(raw)
	if w == nil || err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var user, pass string
	for _, e := range w.template.Spec.Containers[0].Env {
		switch {
		case e.Name == userVar:
			user = e.Value
		case e.Name == passVar && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			pass, _ = secretValue(m.secret(namespace, e.ValueFrom.SecretKeyRef.Name), e.ValueFrom.SecretKeyRef.Key)
		}
	}
	pw, _ := u.User.Password()
	if user == "" || u.User.Username() != user || pw != pass {
		t.Errorf("%s: credentials differ from %s's %s and %s", name, workload, userVar, passVar)
	}
}

func TestDevOverlayRunsTheComposeImages(t *testing.T) {
	p := loadCompose(t, nil)
	var want []string
	for _, tgt := range targets {
		want = append(want, service(t, p, tgt).Image)
	}
	var got []string
	for _, w := range buildKustomization(t, "overlays/dev").workloads() {
		for _, c := range w.template.Spec.Containers {
			if target(c.Image) != "" && !slices.Contains(got, c.Image) {
				got = append(got, c.Image)
			}
		}
	}
	if !sameSet(got, want) {
		t.Errorf("dev overlay runs %v; docker compose builds %v", got, want)
	}
}

func TestProdOverlayUsesExternalServices(t *testing.T) {
	m := buildKustomization(t, "overlays/prod")
	if m.secret(namespace, appSecret) != nil {
		t.Errorf("prod builds Secret %s: an apply would overwrite the real one", appSecret)
	}
	if n := len(all[*appsv1.StatefulSet](m)); n != 0 {
		t.Errorf("prod runs %d StatefulSet(s); PostgreSQL and RabbitMQ are external", n)
	}
	dev := buildKustomization(t, "overlays/dev")
	api, devAPI := m.workload("Deployment", "api"), dev.workload("Deployment", "api")
	if api == nil || api.replicas == nil || devAPI == nil || *api.replicas < 2 || *api.replicas <= replicas(devAPI) {
		t.Error("prod runs no more API replicas than dev")
	}
	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](m) {
		if *h.Spec.MinReplicas < 2 {
			t.Errorf("HorizontalPodAutoscaler %s: minReplicas %d in production", h.Name, *h.Spec.MinReplicas)
		}
	}
	for _, pdb := range all[*policyv1.PodDisruptionBudget](m) {
		if pdb.Name == "api" && (pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(replicas(api))) {
			t.Error("the API's PodDisruptionBudget leaves no replica to evict: drains would block")
		}
	}
	ings := all[*networkingv1.Ingress](m)
	if len(ings) == 0 || len(ings[0].Spec.TLS) == 0 || ings[0].Spec.Rules[0].Host == "" {
		t.Error("prod Ingress: want a host served over TLS")
	}
}

func replicas(w *workload) int32 {
	if w == nil || w.replicas == nil {
		return 1
	}
	return *w.replicas
}

func itoa32(n int32) string { return strconv.Itoa(int(n)) }

// TestPolicyCatchesBrokenManifests runs the policy on manifests that break
// each rule, so a rule that stops working fails here.
func TestPolicyCatchesBrokenManifests(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	files := map[string]string{
		"/bad/kustomization.yaml": "namespace: mailing\nresources: [all.yaml]\n",
		"/bad/all.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers:
        - name: api
          image: mailing/api:latest
          env: [{name: HTTP_ADR, value: ":8080"}, {name: JWT_SECRET, valueFrom: {secretKeyRef: {name: nowhere, key: K}}}]
        - name: provider
          image: registry.example/mailing/dev-oidc:v1
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: nothing}
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api}
spec:
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: missing, port: {name: http}}}}]}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 1
  maxReplicas: 3
`,
	}
	for name, body := range files {
		if err := fs.WriteFile(name, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := kustomize(fs, "/bad")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(policy(m, policyInput{envKnown: func(_, name string) bool { return name != "HTTP_ADR" }}), "\n")
	for _, want := range []string{
		"no Namespace mailing",
		"does not match its pod labels",
		"the latest tag",
		"no cpu requests",
		"no securityContext",
		"needs liveness and readiness probes",
		"prometheus.io/scrape",
		"sets HTTP_ADR",
		"missing Secret nowhere",
		"Service api: selector map[app:nothing] selects no pods",
		"backend Service missing does not exist",
		"must not set replicas",
		"image registry.example/mailing/dev-oidc:v1 is for development only",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the policy did not report %q; it reported:\n%s", want, got)
		}
	}
}

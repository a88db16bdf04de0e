package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const namespace = "mailing"

// policyInput is what the rules need besides the objects.
type policyInput struct {
	// external names Secrets that live outside the build, with the keys
	// they are expected to hold.
	external map[string][]string
	// envKnown tells whether a container of the given target may set the
	// variable (targets are api, worker, probe-sim).
	envKnown func(target, name string) bool
}

// policy returns every rule m breaks, one line each.
func policy(m *manifests, in policyInput) []string {
	var p problems
	p.namespaces(m)
	for _, w := range m.workloads() {
		p.workload(m, w, in)
	}
	p.services(m)
	p.ingresses(m)
	p.budgets(m)
	p.autoscalers(m)
	for _, s := range all[*appsv1.StatefulSet](m) {
		if m.service(s.Namespace, s.Spec.ServiceName) == nil {
			p.add("StatefulSet %s: serviceName %q names no Service", s.Name, s.Spec.ServiceName)
		}
	}
	return p
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p *problems) namespaces(m *manifests) {
	found := false
	for _, o := range m.objects {
		meta, ok := o.(metav1.Object)
		if !ok {
			continue
		}
		if _, isNS := o.(*corev1.Namespace); isNS {
			found = found || meta.GetName() == namespace
			continue
		}
		if meta.GetNamespace() != namespace {
			p.add("%T %s is in namespace %q, want %q", o, meta.GetName(), meta.GetNamespace(), namespace)
		}
	}
	if !found {
		p.add("no Namespace %s", namespace)
	}
}

// target tells which of the repository's released images a container
// runs, or "".
func target(image string) string {
	if tgt := imageTarget(image); slices.Contains(targets, tgt) {
		return tgt
	}
	return ""
}

// imageTarget tells which target of the Dockerfile, released or for
// development only, an image is built from, or "".
func imageTarget(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	last := name[strings.LastIndex(name, "/")+1:]
	if strings.Contains(name, "mailing") && slices.Contains(imageTargets, last) {
		return last
	}
	return ""
}

func (p *problems) workload(m *manifests, w workload, in policyInput) {
	id := w.kind + " " + w.name
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	switch {
	case w.kind == "Job":
	case err != nil || sel.Empty():
		p.add("%s: no usable selector", id)
	case !sel.Matches(labels.Set(w.template.Labels)):
		p.add("%s: selector %s does not match its pod labels %v", id, sel, w.template.Labels)
	}
	pod := w.template.Spec
	podNonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		cid := id + " container " + c.Name
		if why := pinnedImage(c.Image); why != "" {
			p.add("%s: image %s: %s", cid, c.Image, why)
		}
		if slices.Contains(devTargets, imageTarget(c.Image)) {
			p.add("%s: image %s is for development only (public credentials): never deploy it", cid, c.Image)
		}
		p.resources(cid, c)
		p.security(cid, c, podNonRoot)
		p.references(m, cid, w.namespace, c, in)
		tgt := target(c.Image)
		for _, name := range envNames(m, w.namespace, c) {
			if tgt != "" && !in.envKnown(tgt, name) {
				p.add("%s: sets %s, which %s does not read", cid, name, tgt)
			}
		}
	}
	if w.long {
		for _, c := range pod.Containers {
			p.probes(id+" container "+c.Name, c)
		}
		p.scrape(id, w.template)
	}
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && m.configMap(w.namespace, v.ConfigMap.Name) == nil {
			p.add("%s: volume %s mounts the missing ConfigMap %s", id, v.Name, v.ConfigMap.Name)
		}
	}
}

func (p *problems) resources(id string, c corev1.Container) {
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"requests", c.Resources.Requests}, {"limits", c.Resources.Limits}} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := list.rl[r]; !ok || q.IsZero() {
				p.add("%s: no %s %s", id, r, list.name)
			}
		}
	}
}

func (p *problems) security(id string, c corev1.Container, podNonRoot bool) {
	sc := c.SecurityContext
	if sc == nil {
		p.add("%s: no securityContext", id)
		return
	}
	if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
		p.add("%s: runAsNonRoot is not set", id)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		p.add("%s: allowPrivilegeEscalation must be false", id)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p.add("%s: capabilities must drop ALL", id)
	}
	if target(c.Image) != "" && (sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem) {
		p.add("%s: readOnlyRootFilesystem must be true", id)
	}
}

// probes: every server container has liveness and readiness probes; the
// service's own ones are HTTP probes on a declared port, on /healthz and
// (but for probe-sim, which has no dependencies) /readyz.
func (p *problems) probes(id string, c corev1.Container) {
	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		p.add("%s: needs liveness and readiness probes", id)
		return
	}
	tgt := target(c.Image)
	if tgt == "" {
		return
	}
	want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}
	if tgt == "probe-sim" {
		want["readiness"] = "/healthz"
	}
	for kind, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		g := probe.HTTPGet
		switch {
		case g == nil:
			p.add("%s: %s probe is not an HTTP GET", id, kind)
		case g.Path != want[kind]:
			p.add("%s: %s probe on %s, want %s", id, kind, g.Path, want[kind])
		case !hasPort(c, g.Port):
			p.add("%s: %s probe port %s is not a container port", id, kind, g.Port.String())
		}
	}
}

// scrape: the service's pods carry the Prometheus scrape annotations for a
// port they listen on.
func (p *problems) scrape(id string, tpl corev1.PodTemplateSpec) {
	for _, c := range tpl.Spec.Containers {
		if target(c.Image) == "" {
			continue
		}
		a := tpl.Annotations
		port, err := strconv.Atoi(a["prometheus.io/port"])
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || err != nil ||
			!hasPort(c, intstr.FromInt32(int32(port))) {
			p.add("%s: want prometheus.io/scrape \"true\", /metrics and a container port in its annotations, have %v", id, a)
		}
	}
}

func hasPort(c corev1.Container, port intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

// references: every ConfigMap and Secret a container reads exists in the
// build, or is an external Secret holding the key.
func (p *problems) references(m *manifests, id, ns string, c corev1.Container, in policyInput) {
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && m.configMap(ns, ef.ConfigMapRef.Name) == nil {
			p.add("%s: envFrom names the missing ConfigMap %s", id, ef.ConfigMapRef.Name)
		}
		if ef.SecretRef != nil {
			p.add("%s: envFrom a whole Secret hands every secret to every container; name the keys", id)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			if cm := m.configMap(ns, r.Name); cm == nil || cm.Data[r.Key] == "" {
				p.add("%s: %s reads the missing ConfigMap key %s/%s", id, e.Name, r.Name, r.Key)
			}
		}
		r := e.ValueFrom.SecretKeyRef
		if r == nil {
			continue
		}
		optional := r.Optional != nil && *r.Optional
		if keys, ok := in.external[r.Name]; ok {
			if !slices.Contains(keys, r.Key) {
				p.add("%s: %s reads key %s of the external Secret %s, which its template lacks", id, e.Name, r.Key, r.Name)
			}
			continue
		}
		s := m.secret(ns, r.Name)
		if s == nil {
			p.add("%s: %s reads the missing Secret %s", id, e.Name, r.Name)
		} else if _, ok := secretValue(s, r.Key); !ok && !optional {
			p.add("%s: %s reads the missing key %s of Secret %s", id, e.Name, r.Key, r.Name)
		}
	}
}

// envNames lists the variables a container gets: its env and the keys of
// the ConfigMaps it takes whole.
func envNames(m *manifests, ns string, c corev1.Container) []string {
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm := m.configMap(ns, ef.ConfigMapRef.Name); cm != nil {
			for k := range cm.Data {
				names = append(names, ef.Prefix+k)
			}
		}
	}
	return names
}

// selects returns the workloads whose pods sel (a label map) selects.
func selects(m *manifests, ns string, sel map[string]string) []workload {
	var out []workload
	if len(sel) == 0 {
		return nil
	}
	for _, w := range m.workloads() {
		if w.namespace == ns && labels.SelectorFromSet(sel).Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func (p *problems) services(m *manifests) {
	for _, s := range all[*corev1.Service](m) {
		pods := selects(m, s.Namespace, s.Spec.Selector)
		if len(pods) == 0 {
			p.add("Service %s: selector %v selects no pods", s.Name, s.Spec.Selector)
			continue
		}
		for _, port := range s.Spec.Ports {
			tp := port.TargetPort
			if tp.Type == intstr.Int && tp.IntVal == 0 {
				tp = intstr.FromInt32(port.Port)
			}
			for _, w := range pods {
				if !slices.ContainsFunc(w.template.Spec.Containers, func(c corev1.Container) bool { return hasPort(c, tp) }) {
					p.add("Service %s: targetPort %s is not a port of %s %s", s.Name, tp.String(), w.kind, w.name)
				}
			}
		}
	}
}

// ingresses: every backend is a Service port, and the Service is the
// API's; TLS, where present, covers every host.
func (p *problems) ingresses(m *manifests) {
	for _, ing := range all[*networkingv1.Ingress](m) {
		var tlsHosts []string
		for _, tls := range ing.Spec.TLS {
			tlsHosts = append(tlsHosts, tls.Hosts...)
		}
		for _, rule := range ing.Spec.Rules {
			if len(ing.Spec.TLS) > 0 && !slices.Contains(tlsHosts, rule.Host) {
				p.add("Ingress %s: host %q is not covered by its TLS", ing.Name, rule.Host)
			}
			if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
				p.add("Ingress %s: rule %q routes nothing", ing.Name, rule.Host)
				continue
			}
			for _, path := range rule.HTTP.Paths {
				p.backend(m, ing, path.Backend)
			}
		}
	}
}

func (p *problems) backend(m *manifests, ing *networkingv1.Ingress, b networkingv1.IngressBackend) {
	if b.Service == nil {
		p.add("Ingress %s: a backend is not a Service", ing.Name)
		return
	}
	svc := m.service(ing.Namespace, b.Service.Name)
	if svc == nil {
		p.add("Ingress %s: backend Service %s does not exist", ing.Name, b.Service.Name)
		return
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
		return (b.Service.Port.Name != "" && sp.Name == b.Service.Port.Name) || (b.Service.Port.Number != 0 && sp.Port == b.Service.Port.Number)
	}) {
		p.add("Ingress %s: Service %s has no port %v", ing.Name, svc.Name, b.Service.Port)
	}
	for _, w := range selects(m, svc.Namespace, svc.Spec.Selector) {
		if !slices.ContainsFunc(w.template.Spec.Containers, func(c corev1.Container) bool { return target(c.Image) == "api" }) {
			p.add("Ingress %s: Service %s selects %s %s, which is not the API", ing.Name, svc.Name, w.kind, w.name)
		}
	}
}

func (p *problems) budgets(m *manifests) {
	for _, pdb := range all[*policyv1.PodDisruptionBudget](m) {
		if pdb.Spec.Selector == nil || len(selects(m, pdb.Namespace, pdb.Spec.Selector.MatchLabels)) == 0 {
			p.add("PodDisruptionBudget %s selects no pods", pdb.Name)
		}
	}
}

func (p *problems) autoscalers(m *manifests) {
	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](m) {
		ref := h.Spec.ScaleTargetRef
		w := m.workload(ref.Kind, ref.Name)
		switch {
		case w == nil:
			p.add("HorizontalPodAutoscaler %s scales the missing %s %s", h.Name, ref.Kind, ref.Name)
		case w.replicas != nil:
			// Each apply would reset what the autoscaler chose.
			p.add("HorizontalPodAutoscaler %s: %s %s must not set replicas", h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			p.add("HorizontalPodAutoscaler %s: bad replica range", h.Name)
		}
	}
}

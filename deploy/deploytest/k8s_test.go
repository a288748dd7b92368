package deploytest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const namespace = "guichet"

// guichetDeployments are the Guichet services run on Kubernetes and their
// replicas; imap is off until its mailbox is configured.
var guichetDeployments = map[string]int32{"api": 2, "web": 2, "agent": 2, "router": 2, "notifier": 1, "imap": 0}

// httpProbePaths are the paths probed on each Guichet service (readiness,
// liveness). /healthz and /readyz exist where `serve api` runs and in a
// process that serves nothing else (router, notifier, imap: probes only,
// cmd/guichet/app.go); web and agent are probed on a page of their own.
var httpProbePaths = map[string][2]string{
	"api":      {"/readyz", "/healthz"},
	"web":      {"/", "/"},
	"agent":    {"/bo/connexion", "/bo/connexion"},
	"router":   {"/readyz", "/healthz"},
	"notifier": {"/readyz", "/healthz"},
	"imap":     {"/readyz", "/healthz"},
}

// probesOnly are the services whose port serves only probes and metrics:
// no Service leads to them.
var probesOnly = map[string]bool{"router": true, "notifier": true, "imap": true}

// buildKustomization runs kustomize in-process, as `kubectl apply -k
// deploy/k8s` does, on an in-memory copy of deploy/k8s and deploy/nats in
// which secret.env is secret.env.example. edit may change a file's content
// first.
func buildKustomization(t *testing.T, edit func(rel, content string) string) ([]byte, error) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for _, dir := range []string{"k8s", "nats"} {
		entries, err := os.ReadDir(filepath.Join(deployDir(t), dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			rel := dir + "/" + e.Name()
			if rel == "k8s/secret.env" {
				continue // an operator's real one: the example stands in for it
			}
			content := readFile(t, rel)
			if edit != nil {
				content = edit(rel, content)
			}
			if err := fs.WriteFile("/deploy/"+rel, []byte(content)); err != nil {
				t.Fatal(err)
			}
			if rel == "k8s/secret.env.example" {
				if err := fs.WriteFile("/deploy/k8s/secret.env", []byte(content)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/deploy/k8s")
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// manifests is the kustomize output decoded, by kind then name.
type manifests map[string]map[string]any

func (m manifests) names(kind string) []string {
	var names []string
	for n := range m[kind] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// generated finds a generated object by the name before kustomize's hash
// suffix.
func (m manifests) generated(t *testing.T, kind, prefix string) (string, any) {
	t.Helper()
	for n, o := range m[kind] {
		if strings.HasPrefix(n, prefix+"-") {
			return n, o
		}
	}
	t.Fatalf("no %s generated as %s-<hash> (have %v)", kind, prefix, m.names(kind))
	return "", nil
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	out, err := buildKustomization(t, nil)
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s: %v", err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("kustomize output: %v", err)
	}
	m := manifests{}
	for _, o := range objs {
		if o.kind != "Namespace" && o.namespace != namespace {
			t.Errorf("%s %s is in namespace %q, want %q", o.kind, o.name, o.namespace, namespace)
		}
		if m[o.kind] == nil {
			m[o.kind] = map[string]any{}
		}
		if _, dup := m[o.kind][o.name]; dup {
			t.Errorf("%s %s defined twice", o.kind, o.name)
		}
		m[o.kind][o.name] = o.obj
	}
	return m
}

// TestKubernetesFilesDecodeStrictly decodes every YAML document of every file
// under deploy/k8s (and deploy/nats's kustomization) as written, before
// kustomize: kustomizations into kustomize's type, everything else into the
// Kubernetes API types. Every manifest must be used by the kustomization.
func TestKubernetesFilesDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir(t), "k8s", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(deployDir(t), "nats", "kustomization.yaml"))
	var used []string
	for _, path := range files {
		rel, _ := filepath.Rel(deployDir(t), path)
		data := []byte(readFile(t, rel))
		if filepath.Base(path) == "kustomization.yaml" {
			k, err := decodeKustomization(data)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			if rel == filepath.Join("k8s", "kustomization.yaml") {
				used = append(used, k.Resources...)
				for _, p := range k.Patches {
					used = append(used, p.Path)
				}
				if k.Namespace != namespace {
					t.Errorf("%s: namespace %q, want %q", rel, k.Namespace, namespace)
				}
			}
			continue
		}
		if _, err := decodeObjects(data); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	for _, path := range files {
		name := filepath.Base(path)
		if name != "kustomization.yaml" && !slices.Contains(used, name) {
			t.Errorf("k8s/%s is neither a resource nor a patch of k8s/kustomization.yaml: kubectl apply -k would leave it out", name)
		}
	}
}

func TestKubernetesTypoRefused(t *testing.T) {
	cases := []struct{ file, from, to string }{
		{"k8s/router.yaml", "  replicas: 2", "  replica: 2"},
		{"k8s/router.yaml", "  replicas: 2", "  Replicas: 2"}, // field names are case-sensitive
		{"k8s/nats.yaml", "      containers:", "      container:"},
		{"k8s/api.yaml", "          readinessProbe:", "          readinesProbe:"},
		{"k8s/postgres.yaml", "  instances: 3", "  instance: 3"},
	}
	for _, tc := range cases {
		t.Run(tc.file+" "+tc.to, func(t *testing.T) {
			good := readFile(t, tc.file)
			if !strings.Contains(good, tc.from) {
				t.Fatalf("%s has no %q to misspell", tc.file, tc.from)
			}
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if _, err := decodeObjects([]byte(bad)); err == nil {
				t.Errorf("the file with %q was accepted", strings.TrimSpace(tc.to))
			} else {
				t.Logf("refused: %v", err)
			}
			// The same typo through kustomize: either kustomize or the
			// decoding of its output refuses it.
			out, err := buildKustomization(t, func(rel, content string) string {
				if rel == tc.file {
					return bad
				}
				return content
			})
			if err == nil {
				_, err = decodeObjects(out)
			}
			if err == nil {
				t.Errorf("kustomize build with %q was accepted", strings.TrimSpace(tc.to))
			} else {
				t.Logf("refused after kustomize: %v", err)
			}
		})
	}
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	if _, ok := m["Namespace"][namespace]; !ok {
		t.Errorf("no Namespace %s", namespace)
	}
	configName, cfg := m.generated(t, "ConfigMap", "guichet-config")
	config := cfg.(*corev1.ConfigMap).Data
	secretName, sec := m.generated(t, "Secret", "guichet-secret")
	secret := sec.(*corev1.Secret)

	t.Run("nats", func(t *testing.T) { checkNATS(t, m, config) })
	t.Run("postgres", func(t *testing.T) { checkCNPG(t, m) })

	t.Run("config", func(t *testing.T) {
		env := parseEnvFile(t, "k8s/config.env")
		checkVariables(t, "k8s/config.env", env)
		if got := slices.Sorted(maps.Keys(config)); !slices.Equal(got, slices.Sorted(slices.Values(env.keys))) {
			t.Errorf("ConfigMap %s holds %v, want the variables of config.env %v", configName, got, env.keys)
		}
		secretEnv := parseEnvFile(t, "k8s/secret.env.example")
		checkVariables(t, "k8s/secret.env.example", secretEnv)
		for _, k := range secretEnv.keys {
			if secretEnv.values[k] != "" {
				t.Errorf("k8s/secret.env.example: %s has a value: the example holds no secret", k)
			}
			if _, ok := secret.Data[k]; !ok {
				t.Errorf("Secret %s lacks %s", secretName, k)
			}
			if _, ok := config[k]; ok {
				t.Errorf("%s is both in config.env and secret.env.example", k)
			}
		}
		for _, k := range []string{"GUICHET_SECRET", "GUICHET_SMTP_URL"} {
			if !slices.Contains(secretEnv.keys, k) {
				t.Errorf("k8s/secret.env.example lacks %s, which `guichet serve` requires", k)
			}
		}
		if config["GUICHET_STREAM_REPLICAS"] != "3" {
			t.Errorf("GUICHET_STREAM_REPLICAS=%q, want 3 on the three-node cluster", config["GUICHET_STREAM_REPLICAS"])
		}
		if !strings.HasSuffix(config["GUICHET_ADDR"], ":8080") || strings.HasPrefix(config["GUICHET_ADDR"], "127.") {
			t.Errorf("GUICHET_ADDR=%q, want every interface on port 8080 (the containers' port)", config["GUICHET_ADDR"])
		}
		if _, ok := config["DATABASE_URL"]; ok {
			t.Error("DATABASE_URL in config.env: it comes from CloudNativePG's Secret")
		}
	})

	for name, replicas := range guichetDeployments {
		t.Run("deployment "+name, func(t *testing.T) {
			d, ok := m["Deployment"][name].(*appsv1.Deployment)
			if !ok {
				t.Fatalf("no Deployment %s (have %v)", name, m.names("Deployment"))
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
				t.Errorf("replicas %v, want %d", d.Spec.Replicas, replicas)
			}
			checkSelector(t, "Deployment "+name, d.Spec.Selector, d.Spec.Template.Labels)
			c := checkGuichetPod(t, m, "Deployment "+name, &d.Spec.Template.Spec, []string{"serve", name})
			if c == nil {
				return
			}
			if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.ConfigMapRef != nil && e.ConfigMapRef.Name == configName }) ||
				!slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil && e.SecretRef.Name == secretName }) {
				t.Errorf("environment not from %s and %s: %+v", configName, secretName, c.EnvFrom)
			}
			paths, http := httpProbePaths[name]
			if !http {
				if len(c.Ports) > 0 || c.ReadinessProbe != nil {
					t.Errorf("`serve %s` opens no port, but the container declares ports or probes", name)
				}
				return
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
				t.Errorf("ports %+v, want http 8080 (GUICHET_ADDR)", c.Ports)
			}
			for i, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
				if p == nil || p.HTTPGet == nil {
					t.Errorf("probe %d missing or not HTTP", i)
					continue
				}
				if p.HTTPGet.Path != paths[i] || p.HTTPGet.Port.String() != "http" {
					t.Errorf("probe %s on %s, want %s on http", p.HTTPGet.Path, p.HTTPGet.Port.String(), paths[i])
				}
			}
			if probesOnly[name] {
				if _, ok := m["Service"][name]; ok {
					t.Errorf("Service %s leads to a port that serves only probes", name)
				}
				if d.Spec.Template.Annotations["prometheus.io/scrape"] != "true" {
					t.Errorf("%s: metrics not scraped (prometheus.io annotations)", name)
				}
				return
			}
			svc, ok := m["Service"][name].(*corev1.Service)
			if !ok {
				t.Fatalf("no Service %s", name)
			}
			checkService(t, svc, d.Spec.Template.Labels, c)
		})
	}
	for _, d := range m.names("Deployment") {
		if _, ok := guichetDeployments[d]; !ok {
			t.Errorf("unexpected Deployment %s", d)
		}
	}

	t.Run("migrate job", func(t *testing.T) {
		if len(m["Job"]) != 1 {
			t.Fatalf("Jobs %v, want one", m.names("Job"))
		}
		for _, o := range m["Job"] {
			j := o.(*batchv1.Job)
			checkGuichetPod(t, m, "Job "+j.Name, &j.Spec.Template.Spec, []string{"migrate"})
		}
	})

	t.Run("disruption budgets", func(t *testing.T) {
		pods := map[string]map[string]string{
			"nats":   m["StatefulSet"]["nats"].(*appsv1.StatefulSet).Spec.Template.Labels,
			"router": m["Deployment"]["router"].(*appsv1.Deployment).Spec.Template.Labels,
		}
		for name, podLabels := range pods {
			pdb, ok := m["PodDisruptionBudget"][name].(*policyv1.PodDisruptionBudget)
			if !ok {
				t.Errorf("no PodDisruptionBudget %s", name)
				continue
			}
			checkSelector(t, "PodDisruptionBudget "+name, pdb.Spec.Selector, podLabels)
			if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
				t.Errorf("PodDisruptionBudget %s allows every disruption", name)
			}
		}
	})

	t.Run("ingress", func(t *testing.T) {
		ing, ok := m["Ingress"]["guichet"].(*networkingv1.Ingress)
		if !ok {
			t.Fatal("no Ingress guichet")
		}
		routes := map[string]string{}
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				svc := p.Backend.Service
				routes[p.Path] = svc.Name
				s, ok := m["Service"][svc.Name].(*corev1.Service)
				if !ok {
					t.Errorf("path %s: no Service %s", p.Path, svc.Name)
					continue
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == svc.Port.Name }) {
					t.Errorf("path %s: Service %s has no port %q", p.Path, svc.Name, svc.Port.Name)
				}
			}
		}
		want := map[string]string{"/": "web", "/api": "api", "/agent": "agent", "/courrier": "agent", "/bo": "agent"}
		if fmt.Sprint(routes) != fmt.Sprint(want) {
			t.Errorf("routes %v, want %v", routes, want)
		}
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if _, ok := routes[p]; ok {
				t.Errorf("%s is published", p)
			}
		}
	})
}

// checkService fails unless the Service selects the pods and each of its
// ports leads to a port of their container.
func checkService(t *testing.T, svc *corev1.Service, podLabels map[string]string, c *corev1.Container) {
	t.Helper()
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
		t.Errorf("Service %s selects %v, not the pods %v", svc.Name, svc.Spec.Selector, podLabels)
	}
	for _, p := range svc.Spec.Ports {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == p.TargetPort.String() || cp.ContainerPort == p.TargetPort.IntVal
		}) {
			t.Errorf("Service %s: port %s leads to %s, which container %s does not open", svc.Name, p.Name, p.TargetPort.String(), c.Name)
		}
	}
}

// checkSelector fails unless selector selects the pods' labels.
func checkSelector(t *testing.T, what string, selector *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s: selector %v does not select its pods %v (%v)", what, selector, podLabels, err)
	}
}

// checkGuichetPod checks what every pod running the Guichet image must have
// and returns its container.
func checkGuichetPod(t *testing.T, m manifests, what string, pod *corev1.PodSpec, args []string) *corev1.Container {
	t.Helper()
	if len(pod.Containers) != 1 {
		t.Errorf("%s: %d containers, want 1", what, len(pod.Containers))
		return nil
	}
	c := &pod.Containers[0]
	if !strings.HasSuffix(strings.Split(c.Image, ":")[0], "/guichet") {
		t.Errorf("%s: image %q is not the Guichet image (kustomization images:)", what, c.Image)
	}
	if !slices.Equal(c.Args, args) {
		t.Errorf("%s: args %v, want %v", what, c.Args, args)
	}
	checkSecurity(t, what, pod, c)
	checkResources(t, what, c)
	var db *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "DATABASE_URL" {
			db = &c.Env[i]
		}
	}
	cluster := m.names("Cluster")
	if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || len(cluster) != 1 ||
		db.ValueFrom.SecretKeyRef.Name != cluster[0]+"-app" || db.ValueFrom.SecretKeyRef.Key != "uri" {
		t.Errorf("%s: DATABASE_URL must come from CloudNativePG's Secret <cluster>-app, key uri (clusters %v): %+v", what, cluster, db)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/tmp" }) && len(args) > 1 {
		t.Errorf("%s: no writable /tmp (uploads and the scan reader's work directories)", what)
	}
	return c
}

func checkSecurity(t *testing.T, what string, pod *corev1.PodSpec, c *corev1.Container) {
	t.Helper()
	ps := pod.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		t.Errorf("%s: the pod must run as a non-root user: %+v", what, ps)
	}
	if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: no RuntimeDefault seccomp profile (the namespace enforces the restricted pod security standard)", what)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container %s must have a read-only root, no privilege escalation, no capabilities: %+v", what, c.Name, sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the pod needs no Kubernetes API token", what)
	}
}

func checkResources(t *testing.T, what string, c *corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("%s: container %s lacks a %s request or limit", what, c.Name, r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", what, r, req.String(), lim.String())
		}
	}
}

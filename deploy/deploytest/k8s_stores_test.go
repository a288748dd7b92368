package deploytest

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// checkNATS checks the StatefulSet against deploy/nats/*.conf and Guichet's
// NATS_URL.
func checkNATS(t *testing.T, m manifests, config map[string]string) {
	ss, ok := m["StatefulSet"]["nats"].(*appsv1.StatefulSet)
	if !ok {
		t.Fatal("no StatefulSet nats")
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != int32(len(natsNodes)) {
		t.Errorf("replicas %v, want %d", ss.Spec.Replicas, len(natsNodes))
	}
	if ss.Spec.Ordinals == nil || ss.Spec.Ordinals.Start != 1 {
		t.Error("ordinals must start at 1: the pods are nats-1 … nats-3, as in deploy/nats")
	}
	checkSelector(t, "StatefulSet nats", ss.Spec.Selector, ss.Spec.Template.Labels)
	svc, ok := m["Service"][ss.Spec.ServiceName].(*corev1.Service)
	if !ok {
		t.Fatalf("no Service %q (the StatefulSet's serviceName)", ss.Spec.ServiceName)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s must be headless and publish peers before they are ready", svc.Name)
	}
	// Every pod's name under the Service is a route of the configuration
	// and a server of NATS_URL.
	var hosts []string
	for i := range *ss.Spec.Replicas {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s", ss.Name, ss.Spec.Ordinals.Start+i, svc.Name))
	}
	var urlHosts []string
	for _, u := range strings.Split(config["NATS_URL"], ",") {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "nats" || pu.Port() != "4222" {
			t.Errorf("NATS_URL: %q is not nats://host:4222", u)
			continue
		}
		urlHosts = append(urlHosts, pu.Hostname())
	}
	if !slices.Equal(urlHosts, hosts) {
		t.Errorf("NATS_URL names %v, want the pods %v", urlHosts, hosts)
	}
	opts, err := loadNATSConfig(filepath.Join(deployDir(t), "nats", "nats-1.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, r := range opts.Routes {
		routes = append(routes, r.Hostname())
	}
	if !slices.Equal(routes, hosts) {
		t.Errorf("deploy/nats routes %v, want the pods %v", routes, hosts)
	}

	// The configuration files, mounted from the generated ConfigMap.
	cmName, cm := m.generated(t, "ConfigMap", "nats-config")
	for _, n := range natsNodes {
		if cm.(*corev1.ConfigMap).Data[n+".conf"] != readFile(t, "nats/"+n+".conf") {
			t.Errorf("ConfigMap %s: %s.conf is not deploy/nats/%s.conf", cmName, n, n)
		}
	}
	pod := ss.Spec.Template.Spec
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == cmName }) {
		t.Errorf("no volume from ConfigMap %s", cmName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := &pod.Containers[0]
	if !slices.Equal(c.Args, []string{"--config", "/etc/nats/$(POD_NAME).conf"}) {
		t.Errorf("args %v: each server must read the file named after its pod", c.Args)
	}
	if !strings.HasPrefix(c.Image, "nats:2.") {
		t.Errorf("image %q, want nats:2.x", c.Image)
	}
	checkSecurity(t, "StatefulSet nats", &pod, c)
	checkResources(t, "StatefulSet nats", c)
	for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || !strings.HasPrefix(p.HTTPGet.Path, "/healthz") || p.HTTPGet.Port.String() != "monitor" {
			t.Errorf("probes must be /healthz on the monitoring port: %+v", p)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		!strings.Contains(strings.Join(c.Lifecycle.PreStop.Exec.Command, " "), "ldm="+opts.PidFile) {
		t.Errorf("no preStop hook putting the server in lame duck mode through %s", opts.PidFile)
	}
	// The store's limit fits in the volume.
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%d volume claim templates, want 1", len(ss.Spec.VolumeClaimTemplates))
	}
	size := ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
	if size.Cmp(*resource.NewQuantity(opts.JetStreamMaxStore, resource.BinarySI)) <= 0 {
		t.Errorf("volume %s is not larger than jetstream.max_file_store (%d bytes)", size.String(), opts.JetStreamMaxStore)
	}
	checkService(t, svc, ss.Spec.Template.Labels, c)
	for _, port := range []string{"client", "cluster", "monitor"} {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == port }) {
			t.Errorf("Service %s has no port %s", svc.Name, port)
		}
	}
}

func checkCNPG(t *testing.T, m manifests) {
	if len(m["Cluster"]) != 1 {
		t.Fatalf("CloudNativePG Clusters %v, want one", m.names("Cluster"))
	}
	for _, o := range m["Cluster"] {
		c := o.(*cnpgCluster)
		if c.Spec.Instances != 3 {
			t.Errorf("instances %d, want 3", c.Spec.Instances)
		}
		if !strings.HasSuffix(c.Spec.ImageName, ":16") && !strings.Contains(c.Spec.ImageName, ":16.") {
			t.Errorf("image %q, want PostgreSQL 16", c.Spec.ImageName)
		}
		if c.Spec.Bootstrap.InitDB.Database != "guichet" || c.Spec.Bootstrap.InitDB.Owner != "guichet" {
			t.Errorf("bootstrap %+v, want database and owner guichet", c.Spec.Bootstrap.InitDB)
		}
		if _, err := resource.ParseQuantity(c.Spec.Storage.Size); err != nil {
			t.Errorf("storage size %q: %v", c.Spec.Storage.Size, err)
		}
		checkResources(t, "Cluster "+c.Metadata.Name, &corev1.Container{Name: "postgres", Resources: c.Spec.Resources})
	}
}

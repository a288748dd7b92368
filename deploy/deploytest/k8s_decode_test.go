package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// strictDecoder decodes the Kubernetes kinds Guichet uses into their API
// types, refusing unknown fields, fields in the wrong case and duplicate
// keys — what the API server's strict field validation refuses.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, networkingv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// cnpgCluster is the part of CloudNativePG's Cluster (postgresql.cnpg.io/v1)
// that deploy/k8s/postgres.yaml uses, written by hand from the operator's API
// reference (api/v1/cluster_types.go) rather than importing its module and
// its dependencies. Decoding is strict: a field not declared here — a typo,
// or a field this struct has not been taught — fails the test, so a new
// field in postgres.yaml is added here after checking its name in the
// reference.
type cnpgCluster struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy"`
		PostgreSQL            struct {
			Parameters  map[string]string `json:"parameters"`
			Synchronous *struct {
				Method string `json:"method"`
				Number int    `json:"number"`
			} `json:"synchronous"`
		} `json:"postgresql"`
		Bootstrap struct {
			InitDB struct {
				Database               string   `json:"database"`
				Owner                  string   `json:"owner"`
				PostInitApplicationSQL []string `json:"postInitApplicationSQL"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		Storage    cnpgStorage                 `json:"storage"`
		WalStorage *cnpgStorage                `json:"walStorage"`
		Resources  corev1.ResourceRequirements `json:"resources"`
		Affinity   struct {
			EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity"`
			TopologyKey           string `json:"topologyKey"`
			PodAntiAffinityType   string `json:"podAntiAffinityType"`
		} `json:"affinity"`
	} `json:"spec"`
}

type cnpgStorage struct {
	Size         string  `json:"size"`
	StorageClass *string `json:"storageClass"`
}

const cnpgAPIVersion = "postgresql.cnpg.io/v1"

// object is one decoded Kubernetes object: a typed API object, or the
// CloudNativePG Cluster.
type object struct {
	kind, name, namespace string
	obj                   any
}

// yamlDocuments splits a multi-document YAML stream, dropping documents that
// hold only comments.
func yamlDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, doc)
		}
	}
}

// decodeObjects decodes every document strictly.
func decodeObjects(data []byte) ([]object, error) {
	docs, err := yamlDocuments(data)
	if err != nil {
		return nil, err
	}
	var objs []object
	for i, doc := range docs {
		o, err := decodeObject(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func decodeObject(doc []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return object{}, err
	}
	if tm.APIVersion == cnpgAPIVersion && tm.Kind == "Cluster" {
		var c cnpgCluster
		if err := strictJSON(doc, &c); err != nil {
			return object{}, fmt.Errorf("%s %s: %w", tm.Kind, tm.APIVersion, err)
		}
		return object{kind: "Cluster", name: c.Metadata.Name, namespace: c.Metadata.Namespace, obj: &c}, nil
	}
	obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return object{}, fmt.Errorf("%s %s: %w", tm.Kind, tm.APIVersion, err)
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return object{}, fmt.Errorf("%s: no metadata", gvk)
	}
	return object{kind: gvk.Kind, name: m.GetName(), namespace: m.GetNamespace(), obj: obj}, nil
}

// strictJSON decodes YAML into v refusing duplicate keys, unknown fields and
// fields in the wrong case, like the API server's strict decoding.
func strictJSON(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return errors.Join(strict...)
	}
	return nil
}

// decodeKustomization decodes a kustomization.yaml strictly into kustomize's
// own type.
func decodeKustomization(doc []byte) (*kusttypes.Kustomization, error) {
	var k kusttypes.Kustomization
	if err := strictJSON(doc, &k); err != nil {
		return nil, err
	}
	if k.Kind != kusttypes.KustomizationKind || !strings.HasPrefix(k.APIVersion, "kustomize.config.k8s.io/") {
		return nil, fmt.Errorf("not a Kustomization: %s %s", k.APIVersion, k.Kind)
	}
	return &k, nil
}

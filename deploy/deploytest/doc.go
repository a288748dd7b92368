// Package deploytest checks Guichet's deployment files under deploy/: the NATS
// servers' configuration with nats-server's own parser, the Kubernetes
// manifests built by kustomize and decoded strictly into the Kubernetes API
// types, and the Compose file with the compose-spec loader. It holds tests
// only; `go test ./deploy/...` runs them.
package deploytest

package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeTool is a test's independent peer written for Node.js: the node
// binary and the absolute path of dir, whose npm package pkg must be
// installed (deploy/setup.sh test installs them). Without them the test
// fails; it never skips.
func NodeTool(t testing.TB, dir, pkg string) (node, abs string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("Node.js (node) est introuvable : lancez deploy/setup.sh test (%v)", err)
	}
	abs, err = filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "node_modules", pkg, "package.json")); err != nil {
		t.Fatalf("le paquet npm %s n'est pas installé dans %s : lancez deploy/setup.sh test (%v)", pkg, abs, err)
	}
	return node, abs
}

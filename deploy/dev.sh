#!/usr/bin/env bash
# Runs Guichet on this machine, everything in one process: installs what is
# missing (deploy/setup.sh), builds bin/guichet and starts `guichet dev`.
# Options are passed on: deploy/dev.sh --addr 127.0.0.1:8080 --data DIR
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
go build -o bin/guichet ./cmd/guichet
exec bin/guichet dev "$@"

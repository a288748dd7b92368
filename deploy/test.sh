#!/usr/bin/env bash
# Runs Guichet's whole test suite: installs what is missing (deploy/setup.sh),
# then vets and tests every package. The tests start their own NATS server
# and PostgreSQL clusters; nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh test
# go.mod says what the code imports, no more, no less.
go mod tidy -diff
# Every Go file as gofmt writes it.
unformatted=$(gofmt -l cmd services schemas 2>/dev/null || true)
if [ -n "$unformatted" ]; then echo "gofmt: à reformater : $unformatted" >&2; exit 1; fi
go vet ./...
go test -count=1 -timeout 12m ./...

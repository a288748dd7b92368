#!/usr/bin/env bash
# Installs what Guichet needs beyond Go on a Debian/Ubuntu machine: the
# PostgreSQL server binaries (initdb, postgres) that `guichet dev` and the
# tests run a private cluster from, poppler + tesseract (French) that read
# scanned letters, and (with the argument "test") Chromium for the browser
# tests, Dovecot for the IMAP tests (which run their own throwaway server,
# never the system one), and Node.js with the npm packages of the test SMS
# centre (services/platform/sms/testdata/smsc, an SMPP server the SMS tests
# start) and of the open-data validator (services/cases/opendata/testdata/
# tableschema). As root it installs them with apt-get; otherwise it prints the
# exact command to run. Safe to run again.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  echo "Go est introuvable : installez Go 1.26 ou plus récent (https://go.dev/doc/install), puis relancez." >&2
  exit 1
fi

have_postgres() {
  if command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1; then
    return 0
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && return 0
  done
  return 1
}

have_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

packages=()
have_postgres || packages+=(postgresql)
# The mail channel reads scans: poppler's pdftotext/pdftoppm and tesseract
# with French (Guichet runs without them, but then cannot read letters).
command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || packages+=(poppler-utils)
command -v tesseract >/dev/null 2>&1 || packages+=(tesseract-ocr)
# Scans are read under resource limits set by prlimit (util-linux).
command -v prlimit >/dev/null 2>&1 || packages+=(util-linux)
[ -n "$(ls /usr/share/tesseract-ocr/*/tessdata/fra.traineddata 2>/dev/null)" ] || packages+=(tesseract-ocr-fra)
# The mailroom sees a TIFF scan's pages beside its text: tiff2pdf, then pdftoppm.
command -v tiff2pdf >/dev/null 2>&1 || packages+=(libtiff-tools)
# The browser tests drive a real headless Chromium: only the test suite needs it.
if [ "${1:-}" = "test" ]; then
  have_chromium || packages+=(chromium)
  # A real IMAP server: services/testkit/dovecot runs dovecot with its own configuration.
  command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || packages+=(dovecot-imapd)
  # The SMS tests run an independent SMPP server, written with the npm
  # package smpp, under Node.js (its packages are installed below).
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

# install_npm_tools installs the npm packages of the tests' independent
# peers — the test SMS centre (smpp), the open-data validator
# (tableschema) and the webhooks' receiver (standardwebhooks) — exactly
# as their package-lock.json say, when they are missing or older than the
# lock file.
install_npm_tools() {
  local root dir pkg
  root="$(cd "$(dirname "$0")/.." && pwd)"
  for spec in services/platform/sms/testdata/smsc:smpp services/cases/opendata/testdata/tableschema:tableschema services/outbound/webhook/testdata/receiver:standardwebhooks; do
    dir="$root/${spec%%:*}"
    pkg="${spec##*:}"
    if [ ! -f "$dir/node_modules/$pkg/package.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "Installation des paquets npm de test : $dir" >&2
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    fi
  done
}

if [ ${#packages[@]} -eq 0 ]; then
  if [ "${1:-}" = "test" ]; then install_npm_tools; fi
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installation de : ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The tests start their own servers: keep the packages' system services
  # (dovecot on port 143…) from being started by the installation, unless
  # the machine already has a policy of its own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  have_postgres || { echo "PostgreSQL installé mais initdb/postgres introuvables" >&2; exit 1; }
  if [ "${1:-}" = "test" ]; then install_npm_tools; fi
else
  echo "Il manque : ${packages[*]}. Installez-les avec :" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
  exit 1
fi

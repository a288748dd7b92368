#!/usr/bin/env bash
# Installs what Guichet needs beyond Go on a Debian/Ubuntu machine: the
# PostgreSQL server binaries (initdb, postgres) that `guichet dev` and the
# tests run a private cluster from, and (with the argument "test") Chromium
# for the browser tests and poppler + tesseract (French) for the OCR tests. As root it installs them with apt-get;
# otherwise it prints the exact command to run. Safe to run again.
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
# The browser tests drive a real headless Chromium: only the test suite needs it.
if [ "${1:-}" = "test" ]; then
  have_chromium || packages+=(chromium)
  # OCR of scanned letters: poppler's pdftotext/pdftoppm and tesseract with French.
  command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || packages+=(poppler-utils)
  command -v tesseract >/dev/null 2>&1 || packages+=(tesseract-ocr)
  [ -n "$(ls /usr/share/tesseract-ocr/*/tessdata/fra.traineddata 2>/dev/null)" ] || packages+=(tesseract-ocr-fra)
fi

[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installation de : ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  have_postgres || { echo "PostgreSQL installé mais initdb/postgres introuvables" >&2; exit 1; }
else
  echo "Il manque : ${packages[*]}. Installez-les avec :" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
  exit 1
fi

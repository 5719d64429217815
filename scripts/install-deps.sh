#!/usr/bin/env bash
# Installs the Debian 12 packages voicetutor needs to build, test and run.
# Does nothing when every package is already present; uses sudo when not
# root; never asks questions (CI has no standard input).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libcmocka-dev libcjson-dev libsndfile1-dev libspeexdsp-dev
  pocketsphinx libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
  flite flite1-dev espeak-ng libespeak-ng-dev
  libwebsockets-dev libcurl4-openssl-dev libsqlite3-dev
  portaudio19-dev sox python3
  clang libclang-rt-14-dev sqlite3
  libpq-dev postgresql nginx
  chromium chromium-driver
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The web tests (tests/web) run under Node.js with npm. A Node.js from
# elsewhere (nodesource bundles npm) is fine: only ask Debian for what is not
# on the PATH at all, whichever package provides it.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install-deps: not root and no sudo; install these packages by hand: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

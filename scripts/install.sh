#!/usr/bin/env bash
# Installs everything building, testing and the lab need on a fresh Debian/Ubuntu machine:
# the Rust components the checks use, OpenSSL headers for the openssl crate, and the lab's
# packages (lab/install.sh: xrdp, freerdp-shadow, Xvfb, nmap...). Fast when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

missing=()
for p in libssl-dev pkg-config ca-certificates; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

lab/install.sh

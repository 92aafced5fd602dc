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

# The report test renders pages in headless Chromium (fonts for its screenshots); the package
# test builds with cargo-deb (dpkg-shlibdeps from dpkg-dev computes the libssl dependency) and
# checks the unit with systemd-analyze; the bounded-input tests read a run's peak memory with GNU
# time (/usr/bin/time). Without recommends: Chromium's pull in a desktop.
tools=()
for p in chromium fonts-dejavu-core dpkg-dev systemd time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || tools+=("$p")
done
if [ "${#tools[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${tools[@]}"
fi
# cargo-deb (3.8) compiles once, about 2.5 minutes of CPU time, then it is found here.
cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --locked

lab/install.sh

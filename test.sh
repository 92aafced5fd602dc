#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): installs what it needs, checks
# formatting and lints, starts the lab of real RDP servers on 127.0.0.1 and the path lab (network
# namespaces with a router of middleboxes, lab/path/), runs every test, and stops both again.
# It fails, never skips, when a lab cannot start.
set -euo pipefail
cd "$(dirname "$0")"

# step NAME CMD...: run CMD and say how long it took (CI has 30 minutes for all of this).
step() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  echo "test.sh: $name took $((SECONDS - t0)) s (total $SECONDS s)"
}

step install scripts/install.sh
# The lab makes new certificates on every start, so remembering them (--known-certs) across runs
# would report every lab server as cert-changed: tests that need it pass --known-certs FILE.
export RDPDOCTOR_NO_KNOWN_CERTS=1
cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --all-features -- -D warnings
# House rules: no function over 100 lines outside tests, no import circles between modules.
scripts/long-functions.py
scripts/module-cycles.py
step build cargo build --workspace --all-targets --all-features

# The offline suite first (what `cargo test` alone runs), then the lab and the tests that need it.
# It runs with the directory around the checkout hidden (scripts/alone.sh): a test that reads a
# file outside the checkout fails here as it would in a user's fresh clone.
step offline-tests scripts/alone.sh cargo test --workspace --no-fail-fast
step lab lab/start.sh
trap 'lab/kerberos/stop.sh; lab/path/stop.sh; lab/stop.sh' EXIT
# The path lab (network namespaces, as root) reuses the loopback lab's CA and Xvfb display.
step path-lab lab/path/start.sh
step kerberos-lab lab/kerberos/start.sh # Samba KDC, Kerberos CredSSP stand-in, client namespaces (about 30 s)
# Every integration test of the binary, the lab ones included (the offline ones run again: cheap).
step lab-tests cargo test -p rdpdoctor --features lab --tests --no-fail-fast
# Standard RDP Security sessions driven with the wire crate's rdp_crypto (about 1 s).
step wire-lab-tests cargo test -p rdpdoctor-wire --features lab --test lab_rdp_security
# The Debian package: build it with cargo-deb and check its contents and unit.
step deb scripts/test-deb.sh

#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): installs what it needs, checks
# formatting and lints, starts the lab of real RDP servers on 127.0.0.1, runs every test, and
# stops the lab again. It fails, never skips, when the lab cannot start.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --all-targets

lab/start.sh
trap 'lab/stop.sh' EXIT
cargo test --workspace
# The Debian package: build it with cargo-deb and check its contents and unit.
scripts/test-deb.sh

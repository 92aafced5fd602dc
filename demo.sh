#!/usr/bin/env bash
# Starts the lab (real xrdp and freerdp-shadow servers plus scripted stand-ins, all on
# 127.0.0.1) and checks every server once, printing target, verdict and the finding that
# explains it (scripts/demo-table.py: a server whose fault a plain check cannot show is checked
# the way that shows it, and the table says how). The lab keeps running afterwards so you can
# try rdpdoctor on it yourself; `lab/stop.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install.sh
# The lab makes new certificates on every start, so remembering them (--known-certs) across runs
# would report every lab server as cert-changed: tests that need it pass --known-certs FILE.
export RDPDOCTOR_NO_KNOWN_CERTS=1
cargo build --release --quiet
lab/start.sh

# One line per server, checked the way that shows its fault (the last column says how).
scripts/demo-table.py target/release/rdpdoctor
echo
echo "Try: target/release/rdpdoctor check 127.0.0.1:$(( ${RDPDOCTOR_LAB_BASE_PORT:-13389} + 1 ))   (the lab keeps running; stop it with lab/stop.sh)"

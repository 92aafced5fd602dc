#!/usr/bin/env bash
# Benchmark: one channel through the lab's RD Gateway stand-in against a direct connection to the
# same session host, in the same run (loopback only).
#
# Usage: bench/gateway.sh [ROUNDS]        (default 20 rounds)
#
# Needs the lab running (lab/start.sh, with the same RDPDOCTOR_LAB_BASE_PORT; reads
# lab/state/servers.json). It runs the ignored test `bench_gateway_channel_setup` of
# crates/cli/tests/gateway_client.rs, which drives rdpdoctor's gateway client
# (rdpdoctor_probe::gateway::open_channel) and prints medians; no timing is asserted anywhere.
# Each round, interleaved (the order reverses every other round):
#   direct     TCP connect to the target, then an X.224 Connection Request/Confirm on it
#   websocket  channel set-up through gateway-healthy (WebSocket; NTLM in Negotiate), every phase
#              timed, then the same X.224 exchange through the channel, then close
#   http       the same through gateway-no-websocket (RDG_OUT_DATA + RDG_IN_DATA: two TLS
#              connections, two logons)
# and prints the median of every step and the ratio (set-up + X.224) / (connect + X.224).
#
# Env:
#   RDPDOCTOR_BENCH_TARGET=name   the session host (default xrdp-negotiate; freerdp-nla answers one
#                                 connection at a time, about 55 ms each, which then dominates)
#   RDPDOCTOR_BENCH_PROFILE=release  build the test in release mode (needs several GB more disk)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-20}
PROFILE=${RDPDOCTOR_BENCH_PROFILE:-dev}

die() {
  echo "gateway.sh: ERROR: $*" >&2
  exit 1
}

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[ -f "$ROOT/lab/state/servers.json" ] || die "lab/state/servers.json not found: the lab is not running; start it with lab/start.sh"
case "$PROFILE" in
  dev) profile=() ;;
  release) profile=(--release) ;;
  *) die "RDPDOCTOR_BENCH_PROFILE must be dev or release (got '$PROFILE')" ;;
esac

cd "$ROOT"
echo "gateway.sh: building and running the gateway bench ($PROFILE profile, $ROUNDS rounds)" >&2
RDPDOCTOR_BENCH_ROUNDS=$ROUNDS cargo test -q "${profile[@]}" -p rdpdoctor --features lab \
  --test gateway_client -- --ignored --nocapture --exact bench_gateway_channel_setup 2>&1 \
  | sed -n 's/^BENCH //p'
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || die "the bench test failed (exit $status); run it by hand to see why: cargo test -p rdpdoctor --features lab --test gateway_client -- --ignored --nocapture bench_gateway_channel_setup"

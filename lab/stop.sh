#!/usr/bin/env bash
# Stop everything lab/start.sh started, using only the PIDs it recorded in lab/state/pids/.
# Each pid file holds "PID STARTTIME"; a process is signalled only if it still exists AND its
# start time (field 22 of /proc/PID/stat) matches, so a recycled PID is never touched.
# Safe to run twice (and when the lab was never started).
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE="$LAB/state"
PIDS="$STATE/pids"

# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"

shopt -s nullglob
files=("$PIDS"/*.pid)
if [ "${#files[@]}" -eq 0 ]; then
  rm -f "$STATE/servers.json"
  echo "stop.sh: nothing to stop"
  exit 0
fi

# Phase 1: servers; phase 2: Xvfb (the shadow servers need the display until they are gone).
servers=()
xvfb=()
for f in "${files[@]}"; do
  if [ "$(basename "$f")" = xvfb.pid ]; then xvfb+=("$f"); else servers+=("$f"); fi
done
rc=0
term_recorded stop.sh ${servers[@]+"${servers[@]}"} || rc=1
term_recorded stop.sh ${xvfb[@]+"${xvfb[@]}"} || rc=1
if [ "$rc" -ne 0 ]; then
  echo "stop.sh: some processes did not stop; pid files kept in $PIDS" >&2
  exit 1
fi
rm -f "${files[@]}" "$STATE/servers.json"
echo "stop.sh: lab stopped"

#!/usr/bin/env bash
# Stop everything lab/start.sh started, using only the PIDs it recorded in lab/state/pids/.
# Each pid file holds "PID STARTTIME"; a process is signalled only if it still exists AND its
# start time (field 22 of /proc/PID/stat) matches, so a recycled PID is never touched.
# Safe to run twice (and when the lab was never started).
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE="$LAB/state"
PIDS="$STATE/pids"

proc_starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  printf '%s' "${20}"
}

ours() { # PIDFILE -> prints PID if that process is still the one we started
  local pid st
  read -r pid st <"$1" 2>/dev/null || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -n "$st" ] && [ "$(proc_starttime "$pid")" = "$st" ] && printf '%s' "$pid"
  return 0
}

shopt -s nullglob
files=("$PIDS"/*.pid)
if [ "${#files[@]}" -eq 0 ]; then
  rm -f "$STATE/servers.json"
  echo "stop.sh: nothing to stop"
  exit 0
fi

# Phase 1: servers; phase 2: Xvfb (the shadow servers need the display until they are gone).
stop_group() { # PIDFILE...
  local f pid
  local -a alive=() names=()
  for f in "$@"; do
    pid=$(ours "$f")
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      alive+=("$pid")
      names+=("$(basename "$f" .pid)")
    fi
  done
  [ "${#alive[@]}" -gt 0 ] || return 0
  local deadline=$((SECONDS + 10)) i left
  while :; do
    left=0
    for i in "${!alive[@]}"; do
      if [ -e "/proc/${alive[$i]}" ] && [ "$(awk '{print $3}' "/proc/${alive[$i]}/stat" 2>/dev/null)" != Z ]; then
        left=1
      fi
    done
    [ "$left" -eq 1 ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for i in "${!alive[@]}"; do
        if [ -e "/proc/${alive[$i]}" ]; then
          echo "stop.sh: ${names[$i]} (pid ${alive[$i]}) ignored SIGTERM for 10s, sending SIGKILL" >&2
          kill -KILL "${alive[$i]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  for i in "${!alive[@]}"; do
    if [ -e "/proc/${alive[$i]}" ] && [ "$(awk '{print $3}' "/proc/${alive[$i]}/stat" 2>/dev/null)" != Z ]; then
      echo "stop.sh: ERROR: ${names[$i]} (pid ${alive[$i]}) is still running" >&2
      return 1
    fi
  done
  echo "stop.sh: stopped ${names[*]}"
}

servers=()
xvfb=()
for f in "${files[@]}"; do
  if [ "$(basename "$f")" = xvfb.pid ]; then xvfb+=("$f"); else servers+=("$f"); fi
done
rc=0
stop_group ${servers[@]+"${servers[@]}"} || rc=1
stop_group ${xvfb[@]+"${xvfb[@]}"} || rc=1
if [ "$rc" -ne 0 ]; then
  echo "stop.sh: some processes did not stop; pid files kept in $PIDS" >&2
  exit 1
fi
rm -f "${files[@]}" "$STATE/servers.json"
echo "stop.sh: lab stopped"

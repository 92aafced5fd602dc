#!/usr/bin/env bash
# Stop the Kerberos lab: every process lab/kerberos/start.sh recorded in lab/kerberos/state/pids/
# (by PID, only if its start time still matches; Samba's worker processes end with their master),
# then delete every namespace it recorded and the /etc/netns/NS directories it made. Safe to run
# twice and when the lab never started.
set -euo pipefail

KRBLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$KRBLAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$KRBLAB/state"
PIDS="$STATE/pids"

rc=0
shopt -s nullglob
alive=()
names=()
for f in "$PIDS"/*.pid; do
  read -r pid st <"$f" 2>/dev/null || continue
  [[ "$pid" =~ ^[0-9]+$ ]] || continue
  if [ -n "${st:-}" ] && [ "$(proc_starttime "$pid")" = "$st" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    alive+=("$pid")
    names+=("$(basename "$f" .pid)")
  fi
done
running() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
if [ "${#alive[@]}" -gt 0 ]; then
  deadline=$((SECONDS + 10))
  while :; do
    left=0
    for p in "${alive[@]}"; do running "$p" && left=1; done
    [ "$left" -eq 1 ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for i in "${!alive[@]}"; do
        if running "${alive[$i]}"; then
          echo "kerberos/stop.sh: ${names[$i]} (pid ${alive[$i]}) ignored SIGTERM for 10s, sending SIGKILL" >&2
          kill -KILL "${alive[$i]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  for i in "${!alive[@]}"; do
    if running "${alive[$i]}"; then
      echo "kerberos/stop.sh: ERROR: ${names[$i]} (pid ${alive[$i]}) is still running" >&2
      rc=1
    fi
  done
  echo "kerberos/stop.sh: stopped ${names[*]}"
fi
[ "$rc" -eq 0 ] && rm -f "$PIDS"/*.pid

# Namespaces: only the recorded ones. Samba's workers leave with their master; a namespace that
# still holds a process after 5 s is reported (with the PIDs, for a human to look at) and kept.
if [ -f "$STATE/netns.list" ]; then
  kept=()
  while read -r ns; do
    [ -n "$ns" ] || continue
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      deadline=$((SECONDS + 5))
      while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
      left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      if [ -n "$left" ]; then
        echo "kerberos/stop.sh: ERROR: namespace $ns still holds processes $left(not started by this script's record); kept" >&2
        kept+=("$ns")
        rc=1
        continue
      fi
      if ! ip netns del "$ns"; then
        echo "kerberos/stop.sh: ERROR: cannot delete network namespace $ns" >&2
        kept+=("$ns")
        rc=1
        continue
      fi
    fi
  done <"$STATE/netns.list"
  if [ "${#kept[@]}" -eq 0 ]; then
    rm -f "$STATE/netns.list"
  else
    printf '%s\n' "${kept[@]}" >"$STATE/netns.list"
  fi
fi
if [ -f "$STATE/etc-netns.list" ]; then
  while read -r d; do
    case $d in
      /etc/netns/rdpd-krb-*) rm -rf -- "$d" ;;
      *) echo "kerberos/stop.sh: not removing unexpected path $d" >&2 ;;
    esac
  done <"$STATE/etc-netns.list"
  rm -f "$STATE/etc-netns.list"
fi
rm -f "$STATE/kerberos.json"
[ "$rc" -eq 0 ] && echo "kerberos/stop.sh: Kerberos lab stopped"
exit "$rc"

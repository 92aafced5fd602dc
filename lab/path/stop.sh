#!/usr/bin/env bash
# Stop the path lab: every process lab/path/start.sh recorded in lab/path/state/pids/ (by PID,
# only if its start time still matches), then delete every namespace it recorded in
# lab/path/state/netns.list and the /etc/netns/NS directories it made. Safe to run twice and when
# the path lab never started.
set -euo pipefail

PATHLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$PATHLAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$PATHLAB/state"
PIDS="$STATE/pids"

rc=0
shopt -s nullglob
# xrdp (fork=false) serves each connection in a thread and, on SIGTERM, waits for those threads to
# end. A connection that a middlebox reset towards the client only (the TLS-resetting firewall
# sends its reset one way, as `reject with tcp reset` does) is still open on the server's side
# and would keep xrdp alive until the 10 s below run out, on every stop. So first close every TCP
# connection inside the lab's own namespaces (ss -K, the kernel's sock_destroy), which is what
# stopping the lab does to them anyway; then the servers exit at once on SIGTERM.
if [ -f "$STATE/netns.list" ]; then
  while read -r ns; do
    [ -n "$ns" ] || continue
    ip netns exec "$ns" ss -Htn -K state established >/dev/null 2>&1 || true
  done <"$STATE/netns.list"
fi
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
          echo "path/stop.sh: ${names[$i]} (pid ${alive[$i]}) ignored SIGTERM for 10s, sending SIGKILL" >&2
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
      echo "path/stop.sh: ERROR: ${names[$i]} (pid ${alive[$i]}) is still running" >&2
      rc=1
    fi
  done
  echo "path/stop.sh: stopped ${names[*]}"
fi
[ "$rc" -eq 0 ] && rm -f "$PIDS"/*.pid

# Namespaces: only the recorded ones. A namespace still holding a process cannot go away, so a
# process that survived is reported above and its namespace stays for a second run.
if [ -f "$STATE/netns.list" ]; then
  kept=()
  while read -r ns; do
    [ -n "$ns" ] || continue
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
      if ! ip netns del "$ns"; then
        echo "path/stop.sh: ERROR: cannot delete network namespace $ns" >&2
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
      /etc/netns/rdpd-*) rm -rf -- "$d" ;;
      *) echo "path/stop.sh: not removing unexpected path $d" >&2 ;;
    esac
  done <"$STATE/etc-netns.list"
  rm -f "$STATE/etc-netns.list"
fi
rm -f "$STATE/path.json"
[ "$rc" -eq 0 ] && echo "path/stop.sh: path lab stopped"
exit "$rc"

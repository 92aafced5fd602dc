#!/usr/bin/env bash
# Stop the path lab: every process lab/path/start.sh recorded in lab/path/state/pids/ (by PID,
# only if its start time still matches), then delete every namespace it recorded in
# lab/path/state/netns.list and the /etc/netns/NS directories it made (stop_namespace_lab in
# lab/lib.sh). Safe to run twice and when the path lab never started.
set -euo pipefail

PATHLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$PATHLAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$PATHLAB/state"

rc=0
stop_namespace_lab path/stop.sh "$STATE" || rc=$?
rm -f "$STATE/path.json"
[ "$rc" -eq 0 ] && echo "path/stop.sh: path lab stopped"
exit "$rc"

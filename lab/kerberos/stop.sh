#!/usr/bin/env bash
# Stop the Kerberos lab: every process lab/kerberos/start.sh recorded in lab/kerberos/state/pids/
# (by PID, only if its start time still matches; Samba's worker processes end with their master),
# then delete every namespace it recorded and the /etc/netns/NS directories it made
# (stop_namespace_lab in lab/lib.sh). Safe to run twice and when the lab never started.
set -euo pipefail

KRBLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab/lib.sh
. "$(dirname "$KRBLAB")/lib.sh"
STATE="$KRBLAB/state"

rc=0
stop_namespace_lab kerberos/stop.sh "$STATE" || rc=$?
rm -f "$STATE/kerberos.json"
[ "$rc" -eq 0 ] && echo "kerberos/stop.sh: Kerberos lab stopped"
exit "$rc"

# Sourced by lab/start.sh (never run): the RDPEUDP responder stand-in (lab/udp_responder.py) on
# 127.0.0.1 UDP BASE+110..113, and BASE+114 left closed. UDP listeners are not in servers.json
# (whose entries the TCP tests and benchmarks scan); they are listed in lab/state/udp.json.
# Uses start.sh's BASE, LAB, STATE, PYTHON, WAIT, record_pid, die and rel.
UDP_LOG="$STATE/udp-responder.log"
UDP_EVENTS="$STATE/udp-responder.events.jsonl"
: >"$UDP_EVENTS"
UDP_CLOSED=$((BASE + 114))
[ -z "$(ss -Huln "sport = :$UDP_CLOSED")" ] || die "UDP port $UDP_CLOSED (BASE+114, the closed one) is in use: $(ss -Hulnp "sport = :$UDP_CLOSED")"
env UDP_RESPONDER_EVENTS="$UDP_EVENTS" "$PYTHON" -u "$LAB/udp_responder.py" "$BASE" </dev/null >"$UDP_LOG" 2>&1 &
UDP_PID=$!
record_pid udp-responder "$UDP_PID" "$UDP_LOG"
udp_deadline=$((SECONDS + WAIT))
for udp_off in 110 111 112 113; do
  until ss -Hulnp "sport = :$((BASE + udp_off))" | grep -F " 127.0.0.1:$((BASE + udp_off)) " | grep -q "pid=$UDP_PID,"; do
    kill -0 "$UDP_PID" 2>/dev/null || die "udp_responder.py exited during startup; see $UDP_LOG"
    [ "$SECONDS" -lt "$udp_deadline" ] || die "udp_responder.py did not bind 127.0.0.1:$((BASE + udp_off))/udp within ${WAIT}s; see $UDP_LOG"
    sleep 0.1
  done
done
"$PYTHON" - "$STATE/udp.json" "$BASE" "$UDP_PID" "$(rel "$UDP_LOG")" "$(rel "$UDP_EVENTS")" <<'PY'
import json, os, sys
out, base, pid, log, events = sys.argv[1:]
base = int(base)
modes = [(110, "answer", "answers a SYN with a SYN+ACK (MS-RDPEUDP 3.1.5.1.3)"),
         (111, "silent", "reads the SYN, never answers"),
         (112, "badversion", "SYN+ACK whose SYNEX version is 0x0007 (no such version)"),
         (113, "malformed", "an 8-byte reply: FEC header with SYN|ACK, no SYNDATA"),
         (114, "closed", "nothing bound: the kernel answers ICMP port unreachable")]
doc = {"host": "127.0.0.1", "pid": int(pid), "log": log, "events": events,
       "responders": [{"name": "udp-" + m, "mode": m, "port": base + o, "description": d}
                      for o, m, d in modes]}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(out + ".tmp", out)
PY

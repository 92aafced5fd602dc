# shellcheck shell=bash
# Sourced by lab/start.sh (uses its record_pid, add_server, WAIT_LIST, BASE, STATE, die): starts
# pyrdp-mitm 2.1.0 (PyPI, installed by lab/install.sh into its own venv) as a real RDP
# interceptor on 127.0.0.1 in front of lab servers. Each instance writes everything it captures
# under lab/state/NAME/ (logs/ntlmssp.log holds the NTLMv2 hashes it saw: the tests look there
# for a canary account). What it does on the wire: lab/OBSERVED.md, "pyrdp-mitm".
#
# Offsets 70 and up belong to the interception lab.
PYRDP_VENV=${RDPDOCTOR_LAB_PYRDP_VENV:-/opt/rdpdoctor-lab/pyrdp-venv}
PYRDP=$PYRDP_VENV/bin/pyrdp-mitm
[ -x "$PYRDP" ] || die "pyrdp-mitm not found at $PYRDP; run lab/install.sh (as root) first"

start_pyrdp() { # NAME OFFSET TARGET_OFFSET DESCRIPTION
  local name=$1 off=$2 target_off=$3 desc=$4
  local port=$((BASE + off)) target=$((BASE + target_off))
  local out="$STATE/$name" log="$STATE/$name.log"
  rm -rf "$out"
  mkdir -p "$out/home"
  # Own HOME so nothing it caches lands outside lab/state; -o: its logs, cloned certificates and
  # replays. --no-replay/--no-files: no recordings are needed, only what it logs.
  env HOME="$out/home" "$PYRDP" -a 127.0.0.1 -l "$port" -o "$out" -L INFO --no-replay --no-files \
    "127.0.0.1:$target" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" pyrdp-mitm "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}

start_pyrdp pyrdp-xrdp 70 0 \
  "pyrdp-mitm 2.1.0 in front of xrdp-negotiate (BASE+0): clones its certificate with a key of its own, TLS 1.2 only"
start_pyrdp pyrdp-nla 71 6 \
  "pyrdp-mitm 2.1.0 in front of freerdp-nla (BASE+6): answers every request with HYBRID, does NTLM itself and logs the NTLMv2 hashes it sees (pyrdp-nla/logs/ntlmssp.log)"

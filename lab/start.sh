#!/usr/bin/env bash
# Start the rdpdoctor test lab: many RDP listeners (real and fake) on 127.0.0.1 only.
#
#   lab/install.sh          # once, as root (apt)
#   lab/start.sh            # (re)start everything, writes lab/state/servers.json
#   lab/stop.sh             # stop everything this script started
#
# Env:
#   RDPDOCTOR_LAB_BASE_PORT   first port (default 13389, below the ephemeral range); servers use BASE+0 .. BASE+LAST_OFFSET (159; routes at 50..52, lab/route.sh;
#                             pyrdp-mitm at 70..71; farm nodes and alias certificates 72..79;
#                             RD Gateway and Connection Broker stand-ins 80..99; more hostile
#                             stand-ins 100..109; UDP and legacy-client servers 110..119; 120..159 free)
#   RDPDOCTOR_LAB_DISPLAY     first X display number to try for Xvfb (default 93)
#   RDPDOCTOR_LAB_XRDP_LOGLEVEL  xrdp LogLevel (default INFO; DEBUG is more verbose)
#   RDPDOCTOR_LAB_WAIT        seconds to wait for all ports to listen (default 30: pyrdp-mitm takes seconds to start)
#
# Everything lives in lab/state/ (git-ignored): certs/, conf/, pids/, *.log, servers.json.
# Every process is recorded in lab/state/pids/NAME.pid as "PID STARTTIME" (STARTTIME = field 22
# of /proc/PID/stat) so stop.sh only ever signals processes this script started.
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$LAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$LAB/state"
CERTS="$STATE/certs"
CONF="$STATE/conf"
PIDS="$STATE/pids"
# Default below Linux's ephemeral range (32768-60999 by default): a port in that range can be
# held at any moment by some program's outgoing connection, and xrdp then fails to bind it.
BASE=${RDPDOCTOR_LAB_BASE_PORT:-13389}
WAIT=${RDPDOCTOR_LAB_WAIT:-30}
XRDP_LOGLEVEL=${RDPDOCTOR_LAB_XRDP_LOGLEVEL:-INFO}
LAB_USER=labuser
LAB_PASS='LabPass-2026!'

started_ok=0
die() {
  echo "start.sh: ERROR: $*" >&2
  exit 1
}
on_exit() {
  local rc=$?
  if [ "$started_ok" -ne 1 ]; then
    echo "start.sh: start failed (exit $rc); stopping whatever was started (lab/stop.sh)" >&2
    "$LAB/stop.sh" >&2 || true
  fi
}

# The highest port offset the lab uses (BASE+0 .. BASE+LAST_OFFSET).
LAST_OFFSET=159
[[ "$BASE" =~ ^[0-9]+$ ]] && [ "$BASE" -ge 1024 ] && [ "$BASE" -le $((65535 - LAST_OFFSET)) ] \
  || die "RDPDOCTOR_LAB_BASE_PORT=$BASE is not a port number in 1024..$((65535 - LAST_OFFSET))"

# Prefer Debian's python3 (installed by install.sh) over whatever python3 is first on PATH.
PYTHON=${RDPDOCTOR_LAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "python3 not found; run lab/install.sh (as root) first"

for tool in xrdp freerdp-shadow-cli winpr-hash Xvfb openssl ss unshare timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run lab/install.sh (as root) first"
done

# ---------------------------------------------------------------------------------------------
# 0. Stop a previous lab (safe when nothing runs), then start from a clean state directory.
"$LAB/stop.sh"
trap on_exit EXIT
mkdir -p "$STATE" "$CERTS" "$CONF" "$PIDS"
rm -f "$STATE"/*.log "$STATE/servers.tsv" "$STATE/servers.json"

# The lab's ports must lie outside the ephemeral range the kernel picks outgoing ports from
# (net.ipv4.ip_local_port_range), unless they are reserved (net.ipv4.ip_local_reserved_ports):
# otherwise any outgoing connection on this machine may hold one when a server wants to bind it.
LAB_LAST=$((BASE + ${LAST_OFFSET:-24}))
in_reserved() { # PORT: is it in net.ipv4.ip_local_reserved_ports ("a,b-c,...")?
  local port=$1 list range lo hi
  list=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true)
  for range in ${list//,/ }; do
    lo=${range%-*} hi=${range#*-}
    [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] && return 0
  done
  return 1
}
if read -r EPH_LO EPH_HI </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
  for p in $(seq "$BASE" "$LAB_LAST"); do
    if [ "$p" -ge "$EPH_LO" ] && [ "$p" -le "$EPH_HI" ] && ! in_reserved "$p"; then
      die "the lab's ports $BASE-$LAB_LAST (RDPDOCTOR_LAB_BASE_PORT=$BASE) overlap the ephemeral port range $EPH_LO-$EPH_HI (/proc/sys/net/ipv4/ip_local_port_range), from which any outgoing connection may take them; set RDPDOCTOR_LAB_BASE_PORT to a port below $((EPH_LO - ${LAST_OFFSET:-24})) (default 13389), or reserve the ports: sysctl -w net.ipv4.ip_local_reserved_ports=$BASE-$LAB_LAST"
    fi
  done
fi
# A port is taken by a listener or by any connection bound to it (an outgoing connection that got
# it as its local port). TIME-WAIT entries are left out: they have no owner and the servers bind
# with SO_REUSEADDR.
for p in $(seq "$BASE" "$LAB_LAST"); do
  held=$(ss -Htanp "sport = :$p" 2>/dev/null | grep -v '^TIME-WAIT' | head -n1 || true)
  if [ -n "$held" ]; then
    owner=$(grep -o 'users:(([^)]*))' <<<"$held" || true)
    die "port $p (BASE+$((p - BASE)), RDPDOCTOR_LAB_BASE_PORT=$BASE) is taken by ${owner:-a socket whose process is not visible to this user}: $(tr -s ' ' <<<"$held"); stop that program or choose another RDPDOCTOR_LAB_BASE_PORT"
  fi
done

rel() { # path relative to the repository root, as written to servers.json
  local p=$1
  printf '%s' "${p#"$ROOT"/}"
}

# Every port must be free before we start (another lab, another program): fail loudly.
for off in $(seq 0 "$LAST_OFFSET"); do
  p=$((BASE + off))
  if [ -n "$(ss -Htln "sport = :$p")" ]; then
    die "port $p (BASE+$off) is already in use by another listener: $(ss -Htlnp "sport = :$p" | head -n1)"
  fi
done

# ---------------------------------------------------------------------------------------------
# 1. Certificates (regenerated on every start so the relative dates stay right).
#    A lab CA (valid from 800 days ago for 10 years) signs the leaf certificates with `openssl ca`,
#    which (unlike `openssl x509` in OpenSSL 3.0) accepts explicit -startdate/-enddate.
gen_certs() {
  local d="$CERTS"
  rm -rf "$d"
  mkdir -p "$d/ca-db/new"
  : >"$d/ca-db/index.txt"
  echo 1000 >"$d/ca-db/serial"
  cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = labca
[ labca ]
dir             = $d/ca-db
database        = \$dir/index.txt
new_certs_dir   = \$dir/new
serial          = \$dir/serial
default_md      = sha256
policy          = pol_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
[ pol_any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = placeholder
[ ca_ext ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
[ leaf_ext ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
  local cnf="$d/ca.cnf" log="$d/openssl.log"
  : >"$log"
  utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

  # CA: self-signed with `openssl ca -selfsign` so its start date can be backdated too.
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.csr" \
    -subj "/O=rdpdoctor lab/CN=rdpdoctor lab CA" -config "$cnf" >>"$log" 2>&1 \
    || die "openssl: CA key/CSR generation failed, see $log"
  openssl ca -batch -notext -config "$cnf" -selfsign -keyfile "$d/ca.key" -in "$d/ca.csr" \
    -out "$d/ca.pem" -extensions ca_ext -startdate "$(utc '-800 days')" \
    -enddate "$(utc '+3650 days')" >>"$log" 2>&1 \
    || die "openssl: CA self-signing failed, see $log"

  # leaf NAME STARTDATE ENDDATE: RSA 2048, SHA-256, CN=localhost, SAN DNS:localhost IP:127.0.0.1
  leaf() {
    local name=$1 start=$2 end=$3
    openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
      -subj "/CN=localhost" -config "$cnf" >>"$log" 2>&1 \
      || die "openssl: key/CSR for $name failed, see $log"
    openssl ca -batch -notext -config "$cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" \
      -in "$d/$name.csr" -out "$d/$name.pem" -extensions leaf_ext \
      -startdate "$start" -enddate "$end" >>"$log" 2>&1 \
      || die "openssl: signing $name failed, see $log"
  }
  leaf negotiate "$(utc '-1 day')" "$(utc '-1 day +730 days')"    # healthy: yesterday + 2 years
  leaf expired "$(utc '-400 days')" "$(utc '-2 days')"            # expired 2 days ago
  leaf expiring "$(utc '-1 day')" "$(utc '+10 days')"             # expires in 10 days
  leaf notyet "$(utc '+30 days')" "$(utc '+30 days +730 days')"   # valid only in 30 days

  # Weak, self-signed, wrong name: RSA 1024, SHA-1, CN=other.example, no SAN.
  openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout "$d/weak.key" -out "$d/weak.pem" \
    -subj "/CN=other.example" -days 365 -config "$cnf" >>"$log" 2>&1 \
    || die "openssl: weak self-signed certificate failed, see $log"

  # Chain files: leaf followed by the CA, so xrdp (which loads the certificate with
  # SSL_CTX_use_certificate_chain_file) sends the CA too.
  local n
  for n in negotiate expired expiring notyet; do
    cat "$d/$n.pem" "$d/ca.pem" >"$d/$n-chain.pem"
  done
  chmod 0600 "$d"/*.key
}
gen_certs

# ---------------------------------------------------------------------------------------------
# 2. Process bookkeeping.
record_pid() { # NAME PID LOG
  local st
  st=$(proc_starttime "$2")
  [ -n "$st" ] || die "server $1 (pid $2) exited immediately during startup; see its log: $3"
  echo "$2 $st" >"$PIDS/$1.pid"
}
# servers.tsv: name kind port pid log description (turned into servers.json at the end)
add_server() { # NAME KIND PORT PID LOG DESCRIPTION
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$STATE/servers.tsv"
}
WAIT_LIST=() # "NAME PORT PID LOG"

# ---------------------------------------------------------------------------------------------
# 3. xrdp instances.
#
# How several xrdp 0.9.21 instances run side by side: with --nodaemon xrdp does NOT write
# /var/run/xrdp/xrdp.pid, but it still refuses to start ("It looks like xrdp is already
# running") when that file exists -- e.g. when the packaged xrdp service runs on this machine.
# So each instance runs in a private mount namespace (`unshare --mount`, propagation private)
# with an empty tmpfs mounted over /run (= /var/run) /xrdp: it never sees a system pid file and
# nothing it does there is visible outside. `unshare` and `sh -c ... exec` both exec, so the PID
# we record is xrdp's own PID. Where mount namespaces are not permitted (unprivileged
# container) we fall back to running xrdp directly, which works as long as no system
# /run/xrdp/xrdp.pid exists (checked, fails loudly otherwise).
#
# Other choices: fork=false (the default ini says fork=true) so each instance is exactly one
# process and stop.sh leaves no per-connection children behind; the wire behaviour up to
# TLS/MCS is the same. Ports are bound with port=tcp://127.0.0.1:PORT, never with -p.
# Keymaps and rsakeys.ini are read from /etc/xrdp (package defaults); xrdp-sesman is not run.
USE_UNSHARE=0
if unshare --mount --propagation private true 2>/dev/null; then
  USE_UNSHARE=1
  [ -d /run/xrdp ] || mkdir -p /run/xrdp # mount point only (the package creates it too)
elif [ -e /run/xrdp/xrdp.pid ]; then
  die "/run/xrdp/xrdp.pid exists (system xrdp running?) and mount namespaces are not available; xrdp --nodaemon refuses to start while that file exists"
fi

start_xrdp() { # NAME OFFSET DESCRIPTION [setting=value ...]
  local name=$1 off=$2 desc=$3
  shift 3
  local port=$((BASE + off))
  local ini="$CONF/$name.ini" log="$STATE/$name.log"
  write_xrdp_ini "$ini" "$log" 127.0.0.1 "$port" "$XRDP_LOGLEVEL" \
    "$CERTS/negotiate-chain.pem" "$CERTS/negotiate.key" "$@"
  local pid
  if [ "$USE_UNSHARE" -eq 1 ]; then
    unshare --mount --propagation private -- /bin/sh -c \
      'mount -t tmpfs -o mode=0755,size=1m rdpdoctor-lab /run/xrdp && exec "$@"' sh \
      xrdp --nodaemon --config "$ini" </dev/null >"$STATE/$name.console.log" 2>&1 &
  else
    xrdp --nodaemon --config "$ini" </dev/null >"$STATE/$name.console.log" 2>&1 &
  fi
  pid=$!
  record_pid "$name" "$pid" "$log ($STATE/$name.console.log)"
  add_server "$name" xrdp "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}

start_xrdp xrdp-negotiate 0 \
  "healthy baseline: security_layer=negotiate, crypt_level=high, TLS 1.2+1.3, CA-signed RSA-2048/SHA-256 cert CN=localhost (SAN localhost,127.0.0.1), valid yesterday+2y"
start_xrdp xrdp-expired 1 \
  "like xrdp-negotiate but the CA-signed certificate expired 2 days ago" \
  certificate="$CERTS/expired-chain.pem" key_file="$CERTS/expired.key"
start_xrdp xrdp-rdp-only 2 \
  "security_layer=rdp (Standard RDP Security only), crypt_level=high" \
  security_layer=rdp
start_xrdp xrdp-tls13-only 3 \
  "security_layer=negotiate, ssl_protocols=TLSv1.3 only" \
  ssl_protocols="TLSv1.3"
start_xrdp xrdp-tls10-only 4 \
  "security_layer=negotiate, ssl_protocols=TLSv1, TLSv1.1 only, tls_ciphers=DEFAULT:@SECLEVEL=0" \
  ssl_protocols="TLSv1, TLSv1.1" tls_ciphers="DEFAULT:@SECLEVEL=0"
# TLS policies some clients cannot meet (check --clients): TLS 1.2 only with ECDHE and AEAD suites
# only (Windows 7 and 8.1 Schannel have no ECDHE_RSA with GCM), and TLS 1.2 only with RSA key
# exchange and CBC suites only (rustls implements neither).
start_xrdp xrdp-ecdhe-aead 36 \
  "security_layer=negotiate, ssl_protocols=TLSv1.2 only, tls_ciphers=ECDHE-RSA AES-GCM and ChaCha20 only" \
  ssl_protocols="TLSv1.2" tls_ciphers="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305"
start_xrdp xrdp-rsa-cbc 37 \
  "security_layer=negotiate, ssl_protocols=TLSv1.2 only, tls_ciphers=RSA key exchange with AES-CBC only" \
  ssl_protocols="TLSv1.2" tls_ciphers="AES256-SHA:AES128-SHA"
start_xrdp xrdp-cert-missing 5 \
  "security_layer=negotiate but certificate= and key_file= point at files that do not exist" \
  certificate="$CERTS/does-not-exist.pem" key_file="$CERTS/does-not-exist.key"
start_xrdp xrdp-tls-only 7 \
  "security_layer=tls (TLS required, no Standard RDP Security)" \
  security_layer=tls
start_xrdp xrdp-selfsigned-weak 8 \
  "self-signed RSA-1024/SHA-1 certificate, CN=other.example (name mismatch), tls_ciphers=DEFAULT:@SECLEVEL=0" \
  certificate="$CERTS/weak.pem" key_file="$CERTS/weak.key" tls_ciphers="DEFAULT:@SECLEVEL=0"
start_xrdp xrdp-expiring 9 \
  "like xrdp-negotiate but the CA-signed certificate expires 10 days from now" \
  certificate="$CERTS/expiring-chain.pem" key_file="$CERTS/expiring.key"
start_xrdp xrdp-not-yet-valid 10 \
  "like xrdp-negotiate but the CA-signed certificate becomes valid only 30 days from now" \
  certificate="$CERTS/notyet-chain.pem" key_file="$CERTS/notyet.key"
start_xrdp xrdp-rdp-low 20 \
  "security_layer=rdp, crypt_level=low" \
  security_layer=rdp crypt_level=low
start_xrdp xrdp-rdp-fips 21 \
  "security_layer=rdp, crypt_level=fips" \
  security_layer=rdp crypt_level=fips

# ---------------------------------------------------------------------------------------------
# 4. Stand-ins (lab/standin.py, stdlib asyncio), one process per mode.
start_standin() { # MODE OFFSET DESCRIPTION [NAME [FAILURE_CODE]]
  local mode=$1 off=$2 desc=$3
  local name=${4:-standin-$mode} port=$((BASE + off))
  local log="$STATE/$name.log"
  env STANDIN_FAILURE_CODE="${5:-6}" "$PYTHON" -u "$LAB/standin.py" "$mode" "$port" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" standin "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}
start_standin accept-close 12 "accepts, then closes cleanly (FIN) without answering the X.224 request"
start_standin silent 13 "accepts and never answers"
start_standin negfailure 14 "answers every X.224 CR with RDP_NEG_FAILURE code 6 (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER), then closes"
start_standin legacy 15 "answers with an X.224 CC without negotiation data (03 00 00 0b 06 d0 00 00 12 34 00), then an MCS Connect Response: RDP 4.0, level Client Compatible, strongest offered method, 512-bit proprietary certificate"
start_standin garbage 16 "sends an SSH banner (SSH-2.0-OpenSSH_9.2p1 Debian-2) on accept"
start_standin reset 17 "reads the X.224 request, then resets the connection (TCP RST)"
start_standin flood 18 "after the request sends endless TPKT-looking junk (03 00 ff ff ...), capped at 64 MiB"
start_standin midrecord 19 "after the request sends 7 bytes of a TPKT record that announces 19, then closes"
# No real server in the lab sends SSL_CERT_NOT_ON_SERVER (xrdp silently falls back to RDP security
# when its certificate is missing, see OBSERVED.md), so a stand-in does.
start_standin negfailure 23 "answers every X.224 CR with RDP_NEG_FAILURE code 3 (SSL_CERT_NOT_ON_SERVER), then closes" \
  standin-cert-not-on-server 3
# No real Linux server sends Set Error Info 0x7 (what mstsc shows as 0x904 / extended 0x7): a
# stand-in completes X.224, TLS and MCS, then sends it after the Client Info PDU.
start_standin errorinfo 24 "X.224 (SSL), TLS, MCS Connect/Attach User/Channel Joins, then after the Client Info PDU a Set Error Info PDU errorInfo 0x00000007 (ERRINFO_SERVER_DENIED_CONNECTION), an MCS Disconnect Provider Ultimatum and a close"

# Hostile stand-ins (lab/hostile.py): what an attacker or a broken device does on purpose. Each
# records what the client sent in lab/state/NAME.record (tests look for a canary password).
start_hostile() { # MODE OFFSET DESCRIPTION NAME [VARIANT]
  local mode=$1 off=$2 desc=$3 name=$4
  local port=$((BASE + off))
  local log="$STATE/$name.log"
  : >"$STATE/$name.record"
  env HOSTILE_RECORD="$STATE/$name.record" HOSTILE_VARIANT="${5:-}" \
    "$PYTHON" -u "$LAB/hostile.py" "$mode" "$port" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" hostile "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}
start_hostile harvest-tls 25 "password harvester: TLS without NLA (lab CA certificate), records the Client Info PDU" hostile-harvest-tls
start_hostile harvest-rdp 26 "password harvester: Standard RDP Security at encryption level None, records the Client Info PDU" hostile-harvest-rdp
start_hostile drip 27 "TLS, then a 2-byte fast-path frame every 1.5 s forever" hostile-drip
start_hostile badpubkey 28 "NLA interceptor: valid NTLM CHALLENGE with escape sequences in its names, random pubKeyAuth" hostile-badpubkey
start_hostile badcredssp 29 "NLA required, answers the NTLM NEGOTIATE with bytes that are not a TSRequest" hostile-badcredssp
start_hostile badmcs 30 "Standard RDP Security only, MCS Connect Response of junk" hostile-mcs-garbage garbage
start_hostile badmcs 31 "Standard RDP Security only, MCS Connect Response cut after 20 bytes" hostile-mcs-truncated truncated
start_hostile badmcs 32 "Standard RDP Security only, MCS Connect Response with level and method 0xFFFFFFFF" hostile-mcs-ffff ffff
start_hostile badmcs 33 "Standard RDP Security only, no answer to the MCS Connect Initial" hostile-mcs-silent silent
start_hostile oddproto 34 "selects protocol 0x00000040, which does not exist" hostile-oddproto
start_hostile stall6 35 "sends 6 bytes of a Connection Confirm, then stalls" hostile-stall6
start_hostile authanswer 100 "NLA server that never proves its TLS key: answers the NTLM AUTHENTICATE by the user name in it (nopubkey, errorzero, rechallenge, garbage, stall, pkN: a pubKeyAuth of N bytes)" hostile-authanswer
start_hostile badchallenge 101 "NLA required, a CHALLENGE whose last AV pair overruns TargetInfo" hostile-badchallenge overrun
start_hostile badchallenge 102 "NLA required, a TSRequest with neither negoTokens nor errorCode instead of a CHALLENGE" hostile-emptychallenge empty
start_hostile frameflood 103 "TLS, then 5000 two-byte fast-path frames at once and nothing else" hostile-frameflood
start_hostile badsequence 104 "TLS, then an MCS Connect Response of junk in answer to the Connect Initial" hostile-badsequence

# ---------------------------------------------------------------------------------------------
# 5. freerdp-shadow-cli servers under their own Xvfb display.
DISPLAY_NUM=""
first=${RDPDOCTOR_LAB_DISPLAY:-93}
for n in $(seq "$first" $((first + 30))); do
  if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ] \
    && ! grep -q "@/tmp/.X11-unix/X$n\$" /proc/net/unix 2>/dev/null; then
    DISPLAY_NUM=$n
    break
  fi
done
[ -n "$DISPLAY_NUM" ] || die "no free X display number in :$first..:$((first + 30))"
XVFB_LOG="$STATE/xvfb.log"
Xvfb ":$DISPLAY_NUM" -screen 0 1024x768x24 -nolisten tcp -noreset </dev/null >"$XVFB_LOG" 2>&1 &
XVFB_PID=$!
record_pid xvfb "$XVFB_PID" "$XVFB_LOG"
deadline=$((SECONDS + WAIT))
until [ -S "/tmp/.X11-unix/X$DISPLAY_NUM" ]; do
  kill -0 "$XVFB_PID" 2>/dev/null || die "Xvfb :$DISPLAY_NUM exited during startup; see $XVFB_LOG"
  [ "$SECONDS" -lt "$deadline" ] || die "Xvfb :$DISPLAY_NUM did not create its socket within ${WAIT}s; see $XVFB_LOG"
  sleep 0.1
done

# SAM file for NLA: winpr-hash -f sam prints "user:domain:lmhash:nthash:::" (domain empty).
winpr-hash -u "$LAB_USER" -p "$LAB_PASS" -f sam >"$STATE/freerdp.sam" \
  || die "winpr-hash failed to build $STATE/freerdp.sam"
grep -q "^$LAB_USER:::[0-9a-f]\{32\}:::\$" "$STATE/freerdp.sam" \
  || die "unexpected winpr-hash SAM line in $STATE/freerdp.sam: $(cat "$STATE/freerdp.sam")"

start_shadow() { # NAME OFFSET DESCRIPTION ARGS...
  local name=$1 off=$2 desc=$3
  shift 3
  local port=$((BASE + off))
  local home="$STATE/$name-home" log="$STATE/$name.log"
  # Own HOME/XDG_CONFIG_HOME: the server generates its certificate under
  # $XDG_CONFIG_HOME/freerdp/shadow/ on first start, so it stays in lab/state.
  mkdir -p "$home/.config/freerdp/shadow"
  if [ "$name" = freerdp-nla ]; then
    # The NLA server is the lab's healthy reference: give it the CA-signed certificate that names
    # 127.0.0.1 instead of the self-signed CN=<hostname> one FreeRDP would generate.
    cp "$CERTS/negotiate.pem" "$home/.config/freerdp/shadow/shadow.crt"
    cp "$CERTS/negotiate.key" "$home/.config/freerdp/shadow/shadow.key"
  fi
  env HOME="$home" XDG_CONFIG_HOME="$home/.config" DISPLAY=":$DISPLAY_NUM" \
    freerdp-shadow-cli /bind-address:127.0.0.1 "/port:$port" "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" freerdp-shadow "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}
start_shadow freerdp-nla 6 \
  "freerdp-shadow-cli 2.11 /sec:nla, SAM user labuser / LabPass-2026! (empty domain), CA-signed certificate for localhost/127.0.0.1" \
  /sec:nla "/sam-file:$STATE/freerdp.sam"
start_shadow freerdp-rdp 22 \
  "freerdp-shadow-cli 2.11 /sec:rdp (Standard RDP Security only)" \
  /sec:rdp

# Routes in front of the servers (haproxy, the tunnel stand-in): lab/route.sh.
# shellcheck source=lab/route.sh
. "$LAB/route.sh"

. "$LAB/gateway.sh" # RD Gateway and Connection Broker stand-ins (BASE+80..99)

# A relay in front of xrdp-negotiate (BASE+0) whose session freezes: once the session is up it
# stops forwarding the server's frames and sends Deactivate All every 0.5 s, never a Demand
# Active (lab/tunnel.py deactivate; no packaged server does this on demand).
start_deactivate() {
  local port=$((BASE + 105)) log="$STATE/hostile-deactivate.log"
  "$PYTHON" -u "$LAB/tunnel.py" "$port" "$BASE" "$CERTS/negotiate-chain.pem" "$CERTS/negotiate.key" deactivate \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid hostile-deactivate "$pid" "$log"
  add_server hostile-deactivate tunnel "$port" "$pid" "$(rel "$log")" \
    "relay in front of xrdp-negotiate: once the session is up, Deactivate All every 0.5 s and never a Demand Active (lab/tunnel.py deactivate)"
  WAIT_LIST+=("hostile-deactivate $port $pid $log")
}
start_deactivate

# pyrdp-mitm, the real interceptor, in front of xrdp-negotiate and freerdp-nla (BASE+70..).
# shellcheck source=lab/intercept.sh
. "$LAB/intercept.sh"
# Farm nodes, renewals, alias and wildcard certificates (BASE+72..79): lab/farm.sh.
# shellcheck source=lab/farm.sh
. "$LAB/farm.sh"
# The RDPEUDP responder stand-in (UDP BASE+110..114, lab/state/udp.json).
. "$LAB/udp_responder.sh" # shellcheck source=lab/udp_responder.sh

# The deliberately closed port.
CLOSED_PORT=$((BASE + 11))
add_server closed closed "$CLOSED_PORT" "" "" "nothing listens here (connection refused)"

# ---------------------------------------------------------------------------------------------
# 6. Wait (bounded) until every port listens on 127.0.0.1 -- owned by the PID we started --
#    and accepts a TCP connection.
deadline=$((SECONDS + WAIT))
pending=("${WAIT_LIST[@]}")
while [ "${#pending[@]}" -gt 0 ]; do
  still=()
  for entry in "${pending[@]}"; do
    read -r name port pid log <<<"$entry"
    if ! kill -0 "$pid" 2>/dev/null; then
      die "server $name (port $port, pid $pid) exited during startup; see its log: $log (and ${log%.log}.console.log if present)"
    fi
    lines=$(ss -Htlnp "sport = :$port")
    if [ -z "$lines" ]; then
      still+=("$entry")
      continue
    fi
    # Hard rule: loopback only, and the listener must be our process. (ss -p can briefly
    # show no owner for a socket that was just created: then look again on the next pass.)
    owner_seen=0
    while read -r _state _rq _sq laddr _peer users; do
      [ "$laddr" = "127.0.0.1:$port" ] \
        || die "server $name listens on $laddr, not 127.0.0.1:$port; see $log"
      if [[ "$users" == *"pid=$pid,"* ]]; then
        owner_seen=1
      elif [ -n "$users" ]; then
        die "port $port is owned by '$users', not by $name (pid $pid); see $log"
      fi
    done <<<"$lines"
    [ "$owner_seen" -eq 1 ] || still+=("$entry")
  done
  pending=(${still[@]+"${still[@]}"})
  if [ "${#pending[@]}" -gt 0 ]; then
    if [ "$SECONDS" -ge "$deadline" ]; then
      for entry in "${pending[@]}"; do
        read -r name port pid log <<<"$entry"
        echo "start.sh: ERROR: server $name did not listen on 127.0.0.1:$port within ${WAIT}s; see its log: $log" >&2
      done
      die "not all servers came up"
    fi
    sleep 0.1
  fi
done
for entry in "${WAIT_LIST[@]}"; do
  read -r name port pid log <<<"$entry"
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null \
    || die "server $name listens but 127.0.0.1:$port does not accept a TCP connection; see $log"
done
# The closed port must really be closed.
[ -z "$(ss -Htln "sport = :$CLOSED_PORT")" ] || die "port $CLOSED_PORT (closed) has a listener"
if timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CLOSED_PORT" 2>/dev/null; then
  die "port $CLOSED_PORT (closed) accepted a TCP connection"
fi

# ---------------------------------------------------------------------------------------------
# 7. servers.json (sorted by port).
"$PYTHON" - "$STATE/servers.tsv" "$STATE/servers.json" "$BASE" ":$DISPLAY_NUM" "$XVFB_PID" \
  "$(rel "$XVFB_LOG")" "$(rel "$CERTS/ca.pem")" "$LAB_USER" "$LAB_PASS" "freerdp-nla ${SAM_SERVERS[*]-}" <<'EOF'
import json, sys
tsv, out, base, display, xpid, xlog, ca, user, password, sam = sys.argv[1:]
servers = []
with open(tsv) as f:
    for line in f:
        name, kind, port, pid, log, desc = line.rstrip("\n").split("\t")
        servers.append({"name": name, "kind": kind, "host": "127.0.0.1", "port": int(port),
                        "pid": int(pid) if pid else None, "log": log or None,
                        "description": desc})
servers.sort(key=lambda s: s["port"])
doc = {"servers": servers, "base_port": int(base), "ca": ca,
       "xvfb": {"display": display, "pid": int(xpid), "log": xlog},
       "credentials": {n: {"user": user, "domain": "", "password": password} for n in sam.split()}}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
import os
os.replace(out + ".tmp", out)
EOF
rm -f "$STATE/servers.tsv"

started_ok=1
# The table a user needs to try the lab: every server's port, kind and fault, and the account.
"$PYTHON" - "$STATE/servers.json" "$ROOT" <<'EOF'
import json, os, sys
doc = json.load(open(sys.argv[1]))
# The command as typed from the repository: the binary this checkout built, else cargo run.
binary = next((f"target/{p}/rdpdoctor" for p in ("release", "debug")
               if os.access(os.path.join(sys.argv[2], f"target/{p}/rdpdoctor"), os.X_OK)),
              "cargo run -q --release --")
print(f"{'port':>5}  {'server':27} {'kind':14} what it does")
for s in doc["servers"]:
    what = s["description"]
    if len(what) > 78:
        what = what[:77] + "…"
    print(f"{s['port']:>5}  {s['name']:27} {s['kind']:14} {what}")
for server, c in doc.get("credentials", {}).items():
    port = next((s["port"] for s in doc["servers"] if s["name"] == server), None)
    behind = [f"{s['name']} {s['port']}" for s in doc["servers"]
              if f"in front of {server}" in s["description"]]
    print(f"\nLab account on {server} ({port}) and the routes in front of it ({', '.join(behind)}):"
          f" user {c['user']}, password {c['password']}, domain {c['domain'] or '(empty)'}")
    print(f"  RDPDOCTOR_PASSWORD='{c['password']}' {binary} check 127.0.0.1:{port} --user {c['user']}")
EOF
echo "start.sh: lab up: $(grep -c '"name"' "$STATE/servers.json") entries on 127.0.0.1:$BASE-$((BASE + LAST_OFFSET)), Xvfb :$DISPLAY_NUM (mount namespaces: $([ "$USE_UNSHARE" -eq 1 ] && echo yes || echo no)); see $(rel "$STATE/servers.json")"

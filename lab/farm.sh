# shellcheck shell=bash
# Sourced by lab/start.sh after lab/intercept.sh (uses BASE, STATE, CONF, CERTS, DISPLAY_NUM,
# XRDP_LOGLEVEL, USE_UNSHARE, record_pid, add_server, WAIT_LIST, start_xrdp, start_pyrdp, rel, die):
# the healthy enterprise set-ups that must not be called interception (issue 20), on real servers.
#
#   BASE+72  farm-a     freerdp-shadow-cli /sec:nla, computer name FARM-A (own UTS namespace), its
#                       own self-signed certificate CN=farm-a.corp.example (as Windows makes one)
#   BASE+73  farm-b     the same as FARM-B, with its own certificate and key
#   BASE+74  farm-front haproxy (TCP mode, balance source) in front of farm-a and farm-b: one name,
#                       two nodes. Its admin socket (lab/state/haproxy-farm.sock) lets a test drain
#                       a node ("set server farm/farm-a state maint") as an admin would
#   BASE+75  pyrdp-farm pyrdp-mitm 2.1.0 in front of farm-a: the interceptor cloning a farm node
#   BASE+76  renew-old  xrdp, self-signed CN=renew.corp.example, valid from 170 days ago, expires in
#                       10 days (a Windows self-signed certificate due for renewal)
#   BASE+77  renew-new  xrdp, the renewal: same subject, names and issuer, a new key, valid from
#                       yesterday for 180 days; TLS 1.2 only (TLS 1.3 gone with the new key, as a
#                       key in a legacy CSP does)
#   BASE+78  alias-srv01     freerdp-shadow /sec:nla, computer name SRV01, lab-CA certificate for
#                            rdp.corp.example only (an alias the NTLM name does not match)
#   BASE+79  wildcard-rdsh01 freerdp-shadow /sec:nla, computer name RDSH01, lab-CA certificate for
#                            *.corp.example only
#
# Tests reach the names (rdp.corp.example, rdsh01.corp.example) through a private /etc/hosts in a
# mount namespace of their own and trust the lab CA through SSL_CERT_FILE; nothing is resolved.
command -v haproxy >/dev/null 2>&1 || die "'haproxy' not found; run lab/install.sh (as root) first"

FARM_LOG="$CERTS/farm-openssl.log"
: >"$FARM_LOG"

# farm_cert NAME SIGNER START END DNS...: an RSA-2048 serverAuth certificate, CN = the first DNS
# name, SAN = the DNS names. SIGNER "self": self-signed, as Windows makes its Remote Desktop
# certificate (subject = issuer = CN=<FQDN>); "ca": issued by the lab CA. `openssl ca` takes
# explicit start and end dates (openssl x509 in OpenSSL 3.0 does not).
farm_cert() {
  local name=$1 signer=$2 start=$3 end=$4 d="$CERTS"
  shift 4
  local san="" n
  for n in "$@"; do san="${san:+$san,}DNS:$n"; done
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
    -subj "/CN=$1" -config "$d/ca.cnf" >>"$FARM_LOG" 2>&1 \
    || die "openssl: key/CSR for $name failed, see $FARM_LOG"
  cat >"$d/$name.ext" <<EXT
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
EXT
  local -a sign
  if [ "$signer" = self ]; then
    sign=(-selfsign -keyfile "$d/$name.key")
  else
    sign=(-cert "$d/ca.pem" -keyfile "$d/ca.key")
    echo "authorityKeyIdentifier = keyid" >>"$d/$name.ext"
  fi
  openssl ca -batch -notext -config "$d/ca.cnf" "${sign[@]}" -in "$d/$name.csr" \
    -out "$d/$name.pem" -extfile "$d/$name.ext" -startdate "$start" -enddate "$end" \
    >>"$FARM_LOG" 2>&1 || die "openssl: signing $name failed, see $FARM_LOG"
  chmod 0600 "$d/$name.key"
}

utc_at() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
farm_cert farm-a self "$(utc_at '-30 days')" "$(utc_at '+150 days')" farm-a.corp.example
farm_cert farm-b self "$(utc_at '-20 days')" "$(utc_at '+160 days')" farm-b.corp.example
farm_cert renew-old self "$(utc_at '-170 days')" "$(utc_at '+10 days')" renew.corp.example
farm_cert renew-new self "$(utc_at '-1 day')" "$(utc_at '+180 days')" renew.corp.example
farm_cert alias ca "$(utc_at '-1 day')" "$(utc_at '+365 days')" rdp.corp.example
farm_cert wildcard ca "$(utc_at '-1 day')" "$(utc_at '+365 days')" '*.corp.example'

# start_node NAME OFFSET COMPUTER CERT DESCRIPTION: freerdp-shadow-cli /sec:nla in a UTS namespace
# whose host name is COMPUTER (its NTLM CHALLENGE names it), with CERT as its certificate.
start_node() {
  local name=$1 off=$2 computer=$3 cert=$4 desc=$5
  local port=$((BASE + off)) home="$STATE/$name-home" log="$STATE/$name.log"
  mkdir -p "$home/.config/freerdp/shadow"
  cp "$CERTS/$cert.pem" "$home/.config/freerdp/shadow/shadow.crt"
  cp "$CERTS/$cert.key" "$home/.config/freerdp/shadow/shadow.key"
  # unshare and sh both exec: the recorded PID is freerdp-shadow-cli's own.
  unshare --uts -- /bin/sh -c 'hostname "$0" && exec "$@"' "$computer" \
    env HOME="$home" XDG_CONFIG_HOME="$home/.config" DISPLAY=":$DISPLAY_NUM" \
    freerdp-shadow-cli /bind-address:127.0.0.1 "/port:$port" /sec:nla "/sam-file:$STATE/freerdp.sam" \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" freerdp-shadow "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
  # Its logon is the lab account's: servers.json lists it under "credentials" (start.sh).
  SAM_SERVERS+=("$name")
}
SAM_SERVERS=()

start_node farm-a 72 FARM-A farm-a \
  "farm node: freerdp-shadow-cli 2.11 /sec:nla as computer FARM-A, self-signed CN=farm-a.corp.example"
start_node farm-b 73 FARM-B farm-b \
  "farm node: freerdp-shadow-cli 2.11 /sec:nla as computer FARM-B, self-signed CN=farm-b.corp.example"

start_farm_front() {
  local cfg="$CONF/haproxy-farm.cfg" log="$STATE/haproxy-farm.log" sock="$STATE/haproxy-farm.sock"
  local port=$((BASE + 74))
  rm -f "$sock"
  cat >"$cfg" <<CFG
# generated by lab/start.sh (lab/farm.sh) -- rewritten on every start
global
    maxconn 64
    stats socket $sock mode 600 level admin

defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend farm
    bind 127.0.0.1:$port
    default_backend farm

# balance source: every connection of one client lands on the same node, as session affinity on
# a real RD farm's load balancer does; tests drain a node through the admin socket.
backend farm
    balance source
    server farm-a 127.0.0.1:$((BASE + 72))
    server farm-b 127.0.0.1:$((BASE + 73))
CFG
  haproxy -c -q -f "$cfg" >"$log" 2>&1 || die "haproxy rejects $cfg; see $log"
  haproxy -db -f "$cfg" </dev/null >>"$log" 2>&1 &
  local pid=$!
  record_pid haproxy-farm "$pid" "$log"
  add_server farm-front haproxy "$port" "$pid" "$(rel "$log")" \
    "haproxy 2.6 mode tcp, balance source, in front of farm-a and farm-b (BASE+72, +73); admin socket $(rel "$sock")"
  WAIT_LIST+=("farm-front $port $pid $log")
}
start_farm_front

start_pyrdp pyrdp-farm 75 72 \
  "pyrdp-mitm 2.1.0 in front of farm-a (BASE+72): clones FARM-A's certificate with a key of its own, answers NTLM as WINNT"

start_xrdp renew-old 76 \
  "xrdp, self-signed CN=renew.corp.example valid from 170 days ago, expiring in 10 days (due for renewal)" \
  certificate="$CERTS/renew-old.pem" key_file="$CERTS/renew-old.key"
start_xrdp renew-new 77 \
  "xrdp, the renewal of renew-old: same subject, names and issuer, new key, valid from yesterday; TLS 1.2 only" \
  certificate="$CERTS/renew-new.pem" key_file="$CERTS/renew-new.key" ssl_protocols="TLSv1.2"

start_node alias-srv01 78 SRV01 alias \
  "freerdp-shadow-cli 2.11 /sec:nla as computer SRV01, lab-CA certificate for rdp.corp.example only (an alias)"
start_node wildcard-rdsh01 79 RDSH01 wildcard \
  "freerdp-shadow-cli 2.11 /sec:nla as computer RDSH01, lab-CA certificate for *.corp.example only (a wildcard)"

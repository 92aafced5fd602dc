# Sourced by lab/start.sh (uses BASE, STATE, CONF, CERTS, PYTHON, LAB, LAB_USER, LAB_PASS,
# record_pid, add_server, WAIT_LIST, die): the RD Gateway stand-ins (lab/gateway.py) and the
# Connection Broker stand-ins (lab/broker.py), at BASE+80..99. Neither server is packaged for
# Debian; both are proven against the real xfreerdp 2.11 by crates/cli/tests/gateway_lab.rs.
#
#   BASE+80  gateway-healthy        offers Negotiate, NTLM, Basic; WebSocket or the two HTTP channels
#   BASE+81  gateway-no-websocket   refuses the WebSocket upgrade (200 as an HTTP-only gateway)
#   BASE+82  gateway-expired-cert   healthy, with the lab CA's certificate that expired 2 days ago
#   BASE+83  gateway-wrong-name     healthy, with a lab-CA certificate for wrong-name.lab.invalid only
#   BASE+84  gateway-kerberos-only  401 offers only Negotiate and NTLM inside it is refused
#   BASE+85  gateway-rap-denied     channel create -> E_PROXY_RAP_ACCESSDENIED
#   BASE+86  gateway-cap-denied     tunnel authorization -> E_PROXY_NAP_ACCESSDENIED
#   BASE+87  gateway-busy           tunnel create -> E_PROXY_MAXCONNECTIONSREACHED (limit 0)
#   BASE+88  gateway-idle-drop      drops the tunnel after 5 s without client data
#   BASE+89  gateway-paa            pluggable authentication only: anonymous HTTP, PAA cookie
#                                   lab-paa-cookie-2026 checked at tunnel create
#   BASE+90  broker-lb-info         redirects with a routing token (load-balance info) for freerdp-nla
#                                   (BASE+6); relays the client's second connection, which carries
#                                   the token, to it
#   BASE+91  broker-net-address     redirects to TargetNetAddress 127.0.0.2, where xrdp-redirect-target
#                                   (a real xrdp) listens on the same port BASE+91
#   BASE+92  broker-unreachable     redirects to 198.18.99.10 (plus an FQDN and a NetBIOS name) and
#                                   runs in its own network namespace that has only `lo`: a client
#                                   must run there too (nsenter --net=/proc/PID/ns/net), where that
#                                   address has no route and the connect fails at once (ENETUNREACH),
#                                   so nothing is ever sent off the machine (the root namespace has
#                                   a default route; 198.18.0.0/15 must never leave through it)
#
# Every gateway instance lets through only targets in 127.0.0.0/8 and answers
# E_PROXY_TS_CONNECTFAILED when its connection to the target fails (e.g. the closed port BASE+11).
# The user file holds the lab account (labuser, empty domain, the lab password), mode 0600.

GW_USERS="$STATE/gateway-users"
GW_IDLE_SECS=5
GW_PAA_COOKIE=lab-paa-cookie-2026

gen_gateway_certs() {
  # A certificate from the lab CA for a name the client never asks for (no localhost, no IP).
  local d="$CERTS" log="$CERTS/openssl.log"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:wrong-name.lab.invalid\n' \
    >"$d/wrong-name.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$d/wrong-name.key" -out "$d/wrong-name.csr" \
    -subj "/CN=wrong-name.lab.invalid" >>"$log" 2>&1 \
    || die "openssl: key/CSR for the gateway's wrong-name certificate failed, see $log"
  openssl x509 -req -in "$d/wrong-name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 730 -sha256 -extfile "$d/wrong-name.ext" -out "$d/wrong-name.pem" >>"$log" 2>&1 \
    || die "openssl: signing the gateway's wrong-name certificate failed, see $log"
  cat "$d/wrong-name.pem" "$d/ca.pem" >"$d/wrong-name-chain.pem"
  chmod 0600 "$d/wrong-name.key"
}

start_gateway() { # NAME OFFSET MODE CERT KEY DESCRIPTION [ARGS...]
  local name=$1 off=$2 mode=$3 cert=$4 key=$5 desc=$6
  shift 6
  local port=$((BASE + off)) log="$STATE/$name.log"
  "$PYTHON" -u "$LAB/gateway.py" --port "$port" --mode "$mode" --cert "$cert" --key "$key" \
    --users "$GW_USERS" --idle-secs "$GW_IDLE_SECS" "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" gateway "$port" "$pid" "$(rel "$log")" "$desc"
  WAIT_LIST+=("$name $port $pid $log")
}

start_gateways() {
  (umask 077 && printf '%s::%s\n' "$LAB_USER" "$LAB_PASS" >"$GW_USERS")
  gen_gateway_certs
  local good="$CERTS/negotiate-chain.pem" goodkey="$CERTS/negotiate.key"
  local common="RD Gateway stand-in (lab/gateway.py, MS-TSGU HTTP transport) on https://127.0.0.1:PORT/remoteDesktopGateway/, user labuser / lab password, targets 127.0.0.0/8 only (else E_PROXY_RAP_ACCESSDENIED), E_PROXY_TS_CONNECTFAILED when the target does not answer"
  start_gateway gateway-healthy 80 healthy "$good" "$goodkey" \
    "$common; healthy: offers Negotiate, NTLM, Basic; WebSocket or RDG_OUT_DATA/RDG_IN_DATA; CA-signed certificate for localhost/127.0.0.1"
  start_gateway gateway-no-websocket 81 no-websocket "$good" "$goodkey" \
    "$common; refuses the WebSocket upgrade with 200 like an HTTP-only gateway, so clients fall back to RDG_OUT_DATA/RDG_IN_DATA"
  start_gateway gateway-expired-cert 82 healthy "$CERTS/expired-chain.pem" "$CERTS/expired.key" \
    "$common; healthy but its lab-CA certificate expired 2 days ago"
  start_gateway gateway-wrong-name 83 healthy "$CERTS/wrong-name-chain.pem" "$CERTS/wrong-name.key" \
    "$common; healthy but its lab-CA certificate names only wrong-name.lab.invalid"
  start_gateway gateway-kerberos-only 84 kerberos-only "$good" "$goodkey" \
    "$common; 401 offers only Negotiate, and NTLM inside Negotiate is refused (Kerberos only, and the lab has no KDC): no lab client can log on"
  start_gateway gateway-rap-denied 85 rap-denied "$good" "$goodkey" \
    "$common; the resource authorization policy denies every target: channel response E_PROXY_RAP_ACCESSDENIED (0x800759DA)"
  start_gateway gateway-cap-denied 86 cap-denied "$good" "$goodkey" \
    "$common; the connection authorization policy denies the user: tunnel authorization response E_PROXY_NAP_ACCESSDENIED (0x800759DB)"
  start_gateway gateway-busy 87 busy "$good" "$goodkey" \
    "$common; connection limit reached (limit 0): tunnel response E_PROXY_MAXCONNECTIONSREACHED (0x800759E6)"
  start_gateway gateway-idle-drop 88 idle-drop "$good" "$goodkey" \
    "$common; drops the tunnel after ${GW_IDLE_SECS} s without data from the client: close channel E_PROXY_SESSIONTIMEOUT (0x800759F6)"
  start_gateway gateway-paa 89 paa "$good" "$goodkey" \
    "$common; pluggable authentication (PAA) only: anonymous HTTP, the handshake must ask for PAA (else E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD) and the tunnel create must carry the cookie $GW_PAA_COOKIE (else E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED)" \
    --paa-cookie "$GW_PAA_COOKIE"
}
start_gateways

BROKER_UNREACHABLE=198.18.99.10

# start.sh's wait loop refuses a port that has any listener besides 127.0.0.1 (broker-net-address
# shares its port with xrdp-redirect-target on 127.0.0.2), so brokers are waited for here.
start_broker() { # NAME OFFSET DESCRIPTION ARGS...
  local name=$1 off=$2 desc=$3
  shift 3
  local port=$((BASE + off)) log="$STATE/$name.log"
  "$PYTHON" -u "$LAB/broker.py" --port "$port" --cert "$CERTS/negotiate-chain.pem" \
    --key "$CERTS/negotiate.key" "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  record_pid "$name" "$pid" "$log"
  add_server "$name" broker "$port" "$pid" "$(rel "$log")" "$desc"
  wait_listen_in "" 127.0.0.1 "$port" "$pid" "$name" "$log"
}

# A real xrdp on 127.0.0.2 (same port as broker-net-address, since a redirection carries no port),
# in a private mount namespace like start.sh's instances, waited for here.
start_redirect_target() { # NAME PORT
  local name=$1 port=$2 ini="$CONF/$1.ini" log="$STATE/$1.log" pid
  write_xrdp_ini "$ini" "$log" 127.0.0.2 "$port" "$XRDP_LOGLEVEL" \
    "$CERTS/negotiate-chain.pem" "$CERTS/negotiate.key"
  if [ "$USE_UNSHARE" -eq 1 ]; then
    unshare --mount --propagation private -- /bin/sh -c \
      'mount -t tmpfs -o mode=0755,size=1m rdpdoctor-lab /run/xrdp && exec "$@"' sh \
      xrdp --nodaemon --config "$ini" </dev/null >"$STATE/$name.console.log" 2>&1 &
  else
    xrdp --nodaemon --config "$ini" </dev/null >"$STATE/$name.console.log" 2>&1 &
  fi
  pid=$!
  record_pid "$name" "$pid" "$log"
  wait_listen_in "" 127.0.0.2 "$port" "$pid" "$name" "$log"
}

# wait_listen_in NETNS_PID ADDRESS PORT PID NAME LOG: until PID listens on ADDRESS:PORT (in the
# network namespace of NETNS_PID, or the root one when empty), bounded by WAIT.
wait_listen_in() {
  local ns=$1 addr=$2 port=$3 pid=$4 name=$5 log=$6 deadline=$((SECONDS + WAIT))
  local -a in_ns=()
  [ -z "$ns" ] || in_ns=(nsenter "--net=/proc/$ns/ns/net")
  until "${in_ns[@]}" ss -Htlnp "sport = :$port" 2>/dev/null | grep -q "$addr:$port .*pid=$pid,"; do
    kill -0 "$pid" 2>/dev/null || die "server $name (pid $pid) exited during startup; see $log"
    [ "$SECONDS" -lt "$deadline" ] || die "server $name did not listen on $addr:$port within ${WAIT}s; see $log"
    sleep 0.1
  done
}

start_brokers() {
  start_broker broker-lb-info 90 \
    "Connection Broker stand-in (lab/broker.py): TLS (no NLA), licensing STATUS_VALID_CLIENT, then a Server Redirection PDU with load-balance info (routing token Cookie: msts= for freerdp-nla 127.0.0.1:$((BASE + 6))) and that address; the client's reconnection carrying the token is relayed to freerdp-nla" \
    --mode lb-info --target "127.0.0.1:$((BASE + 6))"
  start_broker broker-net-address 91 \
    "Connection Broker stand-in (lab/broker.py): TLS (no NLA), licensing STATUS_VALID_CLIENT, then a Server Redirection PDU with TargetNetAddress 127.0.0.2 only; xrdp-redirect-target (a real xrdp 0.9) listens on 127.0.0.2:$((BASE + 91))" \
    --mode net-address --address 127.0.0.2
  start_redirect_target xrdp-redirect-target $((BASE + 91))

  # The unreachable redirection: its own network namespace (only lo, up), so the broker and the
  # client that follows it can never reach 198.18.0.0/15 (see the header). `unshare` and `sh`
  # exec, so the recorded PID is the broker's and the namespace ends with it.
  local name=broker-unreachable port=$((BASE + 92)) log="$STATE/broker-unreachable.log" pid
  unshare --net -- /bin/sh -c 'ip link set lo up && exec "$@"' sh \
    "$PYTHON" -u "$LAB/broker.py" --port "$port" --mode net-address \
    --address "$BROKER_UNREACHABLE" --fqdn rdsh-internal.lab.invalid --netbios RDSH-INTERNAL \
    --cert "$CERTS/negotiate-chain.pem" --key "$CERTS/negotiate.key" \
    </dev/null >"$log" 2>&1 &
  pid=$!
  record_pid "$name" "$pid" "$log"
  wait_listen_in "$pid" 127.0.0.1 "$port" "$pid" "$name" "$log"
  add_server "$name" broker-netns "$port" "$pid" "$(rel "$log")" \
    "Connection Broker stand-in (lab/broker.py) in its own network namespace (only lo; reach it with nsenter --net=/proc/PID/ns/net): TLS, licensing STATUS_VALID_CLIENT, then a Server Redirection PDU to TargetNetAddress $BROKER_UNREACHABLE, FQDN rdsh-internal.lab.invalid, NetBIOS RDSH-INTERNAL, none of which exists there (connect fails at once: no route)"
}
start_brokers

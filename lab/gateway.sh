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
#   BASE+90.. the Connection Broker stand-ins (lab/broker.py), see below.
#
# Every gateway instance lets through only targets in 127.0.0.0/8 and answers
# E_PROXY_TS_CONNECTFAILED when its connection to the target fails (e.g. the closed port BASE+11).
# The user file holds the lab account (labuser, empty domain, the lab password), mode 0600.

GW_USERS="$STATE/gateway-users"
GW_IDLE_SECS=5

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
}
start_gateways

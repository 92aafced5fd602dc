#!/usr/bin/env bash
# Start the path lab: network namespaces with a client, a router full of middleboxes, and a
# server running real xrdp and freerdp-shadow-cli, so rdpdoctor can be run "through the path".
#
#   lab/start.sh            # the loopback lab first (its CA and Xvfb display are reused)
#   lab/path/start.sh       # as root: namespaces, servers, middleboxes; writes lab/path/state/path.json
#   lab/path/stop.sh        # stops every recorded PID, deletes every recorded namespace
#
# Topology (every address from 198.18.0.0/15, the benchmarking range; nothing is added to the
# root namespace: each veth pair is created directly inside the two namespaces it joins):
#
#   rdpd-BASE-client 198.18.1.2 --- 198.18.1.1 [rdpd-BASE-router] 198.18.2.1 --- rdpd-BASE-server
#   rdpd-BASE-nodns  198.18.3.2 --- 198.18.3.1                                    198.18.2.10 .20 .30
#   rdpd-BASE-noroute 198.18.4.2 -- 198.18.4.1        (198.18.2.98: no host, no ARP answer)
#
#   client  resolver: dnsmasq on the router (198.18.1.1), /etc/netns/rdpd-BASE-client/resolv.conf
#   nodns   resolver: 198.18.0.53, which the router silently drops (a resolver that never answers)
#   noroute a link to the router but no default route: nothing outside 198.18.4.0/24 is routed
#           (a VPN that is down)
#   router  forwards; nftables (drop SYN, ICMP admin-prohibited, ICMP port-unreachable, TCP reset
#           on a TLS ClientHello), a 1000-byte route MTU towards the client for 198.18.2.30 while
#           every ICMP "fragmentation needed" is dropped (MTU black hole), haproxy (TCP mode,
#           198.18.1.1:3389 and :3390), dnsmasq (lab.test)
#           (loss is nftables' numgen), and a slow link towards the client for 198.18.2.50: an
#           htb class of 16 kbit/s (tc), so every answer queues behind the one before it and round
#           trips reach hundreds of ms, as on a saturated 3G or satellite link (high-latency; the
#           kernels this runs on have no netem qdisc, so a fixed propagation delay is not an option)
#   server  freerdp-shadow-cli /sec:nla on 198.18.2.10:3389 (hostname rdp-a, its own UTS namespace),
#           xrdp on 198.18.2.10:3390, 198.18.2.20:3389 (behind the TLS-resetting firewall) and
#           198.18.2.30:3389 (behind the MTU black hole), 198.18.2.40:3389 (behind packet loss),
#           198.18.2.50:3389 (behind the slow link), 198.18.2.60:3389 (behind a firewall that resets
#           only a client's first burst of four ClientHellos: a passing fault, not a device)
#
# Every target, with the behaviour it must show, is listed in lab/path/state/path.json.
#
# Adding a middlebox (e.g. an RDP interceptor such as pyrdp-mitm in the router namespace): drop a
# file lab/path/router.d/NAME.sh. Each is sourced after the built-in middleboxes run and may use:
#   ns_spawn NS NAME LOG CMD...        start CMD in namespace NS (PID recorded, stopped by stop.sh)
#   wait_listen NS ADDRESS PORT NAME   wait until the last spawned process listens there
#   add_target NAME CLIENT_NS TARGET VIA BEHAVIOUR   list a target in path.json
#   start_xrdp_ns NAME ADDRESS PORT    a real xrdp (XRDP_NS, XRDP_CHAIN, XRDP_KEY: another
#                                      namespace and certificate)
#   make_ns NS, veth NS_A IF_A NS_B IF_B, in_ns NS CMD...   (lab/lib.sh; make_ns records NS for stop.sh)
#   $NS_ROUTER $NS_SERVER $NS_CLIENT $ROUTER_C (198.18.1.1, the client-facing router address),
#   $SRV_A (198.18.2.10), $PREFIX (rdpd-BASE), $STATE $CONF $CERTS $LOOP_STATE $PYTHON
# e.g. ns_spawn "$NS_ROUTER" pyrdp "$STATE/pyrdp.log" pyrdp-mitm 198.18.2.10:3389 -a "$ROUTER_C" -l 3392
# A router.d file that fails stops the lab start (fail loudly, never skip).
#
# Env: RDPDOCTOR_LAB_BASE_PORT (names the namespaces rdpd-BASE-*; default 13389, the loopback
#      lab's default, so that one variable names both labs),
#      RDPDOCTOR_LAB_WAIT (seconds to wait for listeners, default 15).
# Needs root (CI runs as root). It fails, never skips, when namespaces cannot be made.
set -euo pipefail

PATHLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$PATHLAB")
ROOT=$(dirname "$LAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$PATHLAB/state"
PIDS="$STATE/pids"
CONF="$STATE/conf"
CERTS="$STATE/certs"
LOOP_STATE="$LAB/state"
BASE=${RDPDOCTOR_LAB_BASE_PORT:-13389}
WAIT=${RDPDOCTOR_LAB_WAIT:-15}
XRDP_LOGLEVEL=${RDPDOCTOR_LAB_XRDP_LOGLEVEL:-INFO}
LAB_USER=labuser
LAB_PASS='LabPass-2026!'

PREFIX="rdpd-$BASE"
NS_CLIENT="$PREFIX-client"
NS_NODNS="$PREFIX-nodns"
NS_NOROUTE="$PREFIX-noroute"
NS_ROUTER="$PREFIX-router"
NS_SERVER="$PREFIX-server"

CLIENT=198.18.1.2
ROUTER_C=198.18.1.1
NODNS_CLIENT=198.18.3.2
ROUTER_D=198.18.3.1
ROUTER_S=198.18.2.1
NOROUTE_CLIENT=198.18.4.2
ROUTER_N=198.18.4.1
NO_HOST=198.18.2.98     # on the server subnet, no host: the router's ARP fails, it sends host-unreachable
NO_NEIGHBOUR=198.18.1.99  # on the client's own subnet, no host: the client's own ARP fails
SRV_A=198.18.2.10       # rdp-a: freerdp-shadow NLA :3389, xrdp :3390
SRV_TLS=198.18.2.20     # xrdp :3389 behind the firewall that resets TLS ClientHellos
SRV_MTU=198.18.2.30     # xrdp :3389 behind the MTU black hole
SRV_LOSS=198.18.2.40    # xrdp :3389 behind a router that drops every third data packet towards it
SRV_SLOW=198.18.2.50    # xrdp :3389 behind a 16 kbit/s link towards the client (queueing delay)
SLOW_RATE=16kbit
SRV_FLAKY=198.18.2.60   # xrdp :3389 behind a firewall that resets a client's first four ClientHellos
FLAKY_BURST=4           # a check's first handshakes: TLS 1.0 to 1.3, one connection each
DEAD_HOST=198.18.2.99   # listed in DNS, silently dropped by the router
DEAD_DNS=198.18.0.53    # the nodns client's resolver, silently dropped by the router
MTU_LIMIT=1000

die() {
  echo "path/start.sh: ERROR: $*" >&2
  exit 1
}
started_ok=0
on_exit() {
  local rc=$?
  if [ "$started_ok" -ne 1 ]; then
    echo "path/start.sh: start failed (exit $rc); stopping whatever was started (lab/path/stop.sh)" >&2
    "$PATHLAB/stop.sh" >&2 || true
  fi
}

[[ "$BASE" =~ ^[0-9]+$ ]] || die "RDPDOCTOR_LAB_BASE_PORT=$BASE is not a number"
[ "$(id -u)" -eq 0 ] || die "the path lab needs root to create network namespaces (CI runs as root); run it as root"
PYTHON=${RDPDOCTOR_LAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "python3 not found; run lab/install.sh (as root) first"
for tool in ip nft haproxy dnsmasq xrdp freerdp-shadow-cli winpr-hash openssl ss unshare timeout getent; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run lab/install.sh (as root) first"
done
[ -f "$LOOP_STATE/servers.json" ] \
  || die "the loopback lab is not running ($LOOP_STATE/servers.json missing): start lab/start.sh first (its CA and Xvfb display are reused)"
DISPLAY_NUM=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["xvfb"]["display"])' "$LOOP_STATE/servers.json") \
  || die "cannot read the Xvfb display from $LOOP_STATE/servers.json"
[ -S "/tmp/.X11-unix/X${DISPLAY_NUM#:}" ] || die "the loopback lab's Xvfb $DISPLAY_NUM has no socket /tmp/.X11-unix/X${DISPLAY_NUM#:}; restart lab/start.sh"
for f in ca.pem ca.key ca.cnf; do
  [ -f "$LOOP_STATE/certs/$f" ] || die "the loopback lab's CA file $LOOP_STATE/certs/$f is missing; restart lab/start.sh"
done

# ---------------------------------------------------------------------------------------------
# 0. Stop a previous path lab, then start from a clean state directory.
"$PATHLAB/stop.sh"
trap on_exit EXIT
rm -rf "$STATE"
mkdir -p "$STATE" "$PIDS" "$CONF" "$CERTS"
: >"$STATE/netns.list"
: >"$STATE/targets.tsv"

# ---------------------------------------------------------------------------------------------
# 1. Namespaces and links (make_ns, veth, in_ns and ns_spawn are in lab/lib.sh).
for ns in "$NS_CLIENT" "$NS_NODNS" "$NS_NOROUTE" "$NS_ROUTER" "$NS_SERVER"; do make_ns "$ns"; done
veth "$NS_CLIENT" eth0 "$NS_ROUTER" c0
veth "$NS_NODNS" eth0 "$NS_ROUTER" d0
veth "$NS_NOROUTE" eth0 "$NS_ROUTER" n0
veth "$NS_SERVER" eth0 "$NS_ROUTER" s0

ip -n "$NS_CLIENT" addr add "$CLIENT/24" dev eth0
ip -n "$NS_CLIENT" route add default via "$ROUTER_C"
ip -n "$NS_NODNS" addr add "$NODNS_CLIENT/24" dev eth0
ip -n "$NS_NODNS" route add default via "$ROUTER_D"
ip -n "$NS_ROUTER" addr add "$ROUTER_C/24" dev c0
ip -n "$NS_ROUTER" addr add "$ROUTER_D/24" dev d0
ip -n "$NS_ROUTER" addr add "$ROUTER_S/24" dev s0
# No default route on purpose: the router is on the link, but nothing beyond it is routed.
ip -n "$NS_NOROUTE" addr add "$NOROUTE_CLIENT/24" dev eth0
ip -n "$NS_ROUTER" addr add "$ROUTER_N/24" dev n0
for a in "$SRV_A" "$SRV_TLS" "$SRV_MTU" "$SRV_LOSS" "$SRV_SLOW" "$SRV_FLAKY"; do
  ip -n "$NS_SERVER" addr add "$a/24" dev eth0
done
ip -n "$NS_SERVER" route add default via "$ROUTER_S"
in_ns "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 || die "cannot enable forwarding in $NS_ROUTER"
# A host that is off: the router asks for $NO_HOST with ARP, gets no answer and sends ICMP host
# unreachable. Two ARP requests 250 ms apart instead of three a second apart, so the answer comes
# well within a check's deadline (the servers on s0 answer ARP at once either way).
in_ns "$NS_ROUTER" sysctl -qw net.ipv4.neigh.s0.mcast_solicit=2 net.ipv4.neigh.s0.retrans_time_ms=250 \
  || die "cannot shorten the ARP wait on s0 in $NS_ROUTER"
# The same on the client's own link, for $NO_NEIGHBOUR (the client's own ARP gets no answer).
in_ns "$NS_CLIENT" sysctl -qw net.ipv4.neigh.eth0.mcast_solicit=2 net.ipv4.neigh.eth0.retrans_time_ms=250 \
  || die "cannot shorten the ARP wait on eth0 in $NS_CLIENT"

# The MTU black hole: traffic from 198.18.2.30 to the client leaves over a route whose MTU is
# locked at 1000 bytes, as behind a VPN or tunnel. The router drops larger packets (DF is set)
# and its "fragmentation needed" answers are dropped by nftables below, so the server never
# learns to send smaller segments.
ip -n "$NS_ROUTER" rule add from "$SRV_MTU" lookup 30 priority 100
ip -n "$NS_ROUTER" route add 198.18.1.0/24 dev c0 table 30 mtu lock "$MTU_LIMIT"

# Per-namespace resolvers (ip netns exec bind-mounts /etc/netns/NS/resolv.conf).
mkdir -p "/etc/netns/$NS_CLIENT" "/etc/netns/$NS_NODNS"
echo "/etc/netns/$NS_CLIENT" >"$STATE/etc-netns.list"
echo "/etc/netns/$NS_NODNS" >>"$STATE/etc-netns.list"
printf 'nameserver %s\n' "$ROUTER_C" >"/etc/netns/$NS_CLIENT/resolv.conf"
printf 'nameserver %s\n' "$DEAD_DNS" >"/etc/netns/$NS_NODNS/resolv.conf"

# ---------------------------------------------------------------------------------------------
# 2. nftables in the router.
cat >"$CONF/router.nft" <<NFT
# generated by lab/path/start.sh -- loaded into $NS_ROUTER only
table inet rdpdoctor_path {
  # A passing fault: each client's first $FLAKY_BURST ClientHellos towards $SRV_FLAKY are reset, the
  # ones after pass. The element (with its token bucket) expires 2 s after the client's first
  # ClientHello ('add' does not refresh it), so every check meets the same burst afresh.
  set tls_burst {
    type ipv4_addr
    flags dynamic, timeout
    timeout 2s
  }
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    # A host that is gone and a resolver that never answers: silence, no ICMP.
    ip daddr { $DEAD_HOST, $DEAD_DNS } drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    # filtered: connection attempts dropped without an answer
    ip daddr $SRV_A tcp dport 3391 tcp flags & (syn | ack) == syn drop
    # rejected by a firewall with ICMP "communication administratively prohibited" (3/13)
    ip daddr $SRV_A tcp dport 3392 reject with icmp type admin-prohibited
    # rejected with ICMP "port unreachable" (3/3): the client's connect() says "refused" as for a reset
    ip daddr $SRV_A tcp dport 3394 reject with icmp type port-unreachable
    # an inspecting firewall: a reset for any segment whose payload starts like a TLS record
    # header and handshake type (0x16 0x03 .. .. .. 0x01: handshake, TLS major version 3,
    # ClientHello), i.e. a ClientHello whose first six bytes travel in one segment
    ip daddr $SRV_TLS tcp dport 3389 @ih,0,16 0x1603 @ih,40,8 0x01 reject with tcp reset
    # the same match, but only while the client's bucket still holds tokens: a burst, then none
    ip daddr $SRV_FLAKY tcp dport 3389 @ih,0,16 0x1603 @ih,40,8 0x01 add @tls_burst { ip saddr limit rate 1/hour burst $FLAKY_BURST packets } reject with tcp reset
    # packet loss: every third client packet carrying data (IP length above 52 bytes, the size
    # of a bare ACK with timestamps: even the one-byte segments of the check's loss sample)
    # towards this server is dropped; TCP retransmits it
    ip daddr $SRV_LOSS tcp dport 3389 ip length > 52 numgen inc mod 3 == 0 drop
    # the slow link: the server's packets to the client go to the router's htb class 1:20 on c0
    # (htb takes a priority that names one of its classes as the class; no tc filter needed)
    ip saddr $SRV_SLOW tcp sport 3389 meta priority set 1:20
    # the MTU black hole's other half (forwarded ICMP)
    icmp type destination-unreachable icmp code frag-needed drop
  }
  chain output {
    type filter hook output priority filter; policy accept;
    # the MTU black hole's other half (the router's own "fragmentation needed" answers)
    icmp type destination-unreachable icmp code frag-needed drop
  }
}
NFT
in_ns "$NS_ROUTER" nft -f "$CONF/router.nft" || die "nft could not load $CONF/router.nft into $NS_ROUTER"
# The slow link's queue: htb on the router's client-facing interface, everything in the unlimited
# default class 1:10 but what nftables marks with priority 1:20 above (the slow server's packets).
# htb lets a class's first burst through at line rate, so a connection's first packets can be fast.
in_ns "$NS_ROUTER" tc qdisc add dev c0 root handle 1: htb default 10 2>>"$STATE/tc.log" \
  && in_ns "$NS_ROUTER" tc class add dev c0 parent 1: classid 1:10 htb rate 10gbit quantum 200000 2>>"$STATE/tc.log" \
  && in_ns "$NS_ROUTER" tc class add dev c0 parent 1: classid 1:20 htb rate "$SLOW_RATE" ceil "$SLOW_RATE" quantum 1514 2>>"$STATE/tc.log" \
  || die "tc could not shape c0 in $NS_ROUTER with htb (the slow link for $SRV_SLOW); see $STATE/tc.log"

# ---------------------------------------------------------------------------------------------
# 3. Process bookkeeping.
LAST_PID=""
wait_listen() { # NS ADDRESS PORT NAME: the last spawned process must listen on ADDRESS:PORT
  local ns=$1 address=$2 port=$3 name=$4 pid=$LAST_PID log=$LAST_LOG
  local deadline=$((SECONDS + WAIT)) lines
  while :; do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during startup; see $log"
    lines=$(ip netns exec "$ns" ss -Htlnp "sport = :$port" | grep -F " $address:$port " || true)
    if [[ "$lines" == *"pid=$pid,"* ]]; then
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not listen on $address:$port in $ns within ${WAIT}s; see $log"
    sleep 0.1
  done
}
add_target() { # NAME CLIENT_NS TARGET VIA BEHAVIOUR
  printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$STATE/targets.tsv"
}

# ---------------------------------------------------------------------------------------------
# 4. Certificate for the path servers, signed by the loopback lab's CA: every name and address
#    the tests use for rdp-a, so a healthy target stays free of certificate findings.
cat >"$CERTS/leaf.ext" <<EXT
[ path_leaf ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:rdp-a.lab.test,DNS:rdp-a.dual.lab.test,IP:$SRV_A,IP:$SRV_TLS,IP:$SRV_MTU,IP:$SRV_LOSS,IP:$SRV_SLOW,IP:$SRV_FLAKY,IP:$ROUTER_C
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EXT
utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
openssl req -new -newkey rsa:2048 -nodes -keyout "$CERTS/rdp-a.key" -out "$CERTS/rdp-a.csr" \
  -subj "/CN=rdp-a.lab.test" >"$CERTS/openssl.log" 2>&1 || die "openssl: key/CSR for rdp-a failed, see $CERTS/openssl.log"
openssl ca -batch -notext -config "$LOOP_STATE/certs/ca.cnf" -cert "$LOOP_STATE/certs/ca.pem" \
  -keyfile "$LOOP_STATE/certs/ca.key" -in "$CERTS/rdp-a.csr" -out "$CERTS/rdp-a.pem" \
  -extfile "$CERTS/leaf.ext" -extensions path_leaf -startdate "$(utc '-1 day')" \
  -enddate "$(utc '-1 day +730 days')" >>"$CERTS/openssl.log" 2>&1 \
  || die "openssl: signing rdp-a failed, see $CERTS/openssl.log"
cat "$CERTS/rdp-a.pem" "$LOOP_STATE/certs/ca.pem" >"$CERTS/rdp-a-chain.pem"
chmod 0600 "$CERTS/rdp-a.key"

# ---------------------------------------------------------------------------------------------
# 5. Servers in the server namespace.
#    xrdp: a private mount namespace with a tmpfs over /run/xrdp (see lab/start.sh section 3).
#    XRDP_NS, XRDP_CHAIN and XRDP_KEY (set for one call) put it in another namespace with another
#    certificate (router.d hooks).
start_xrdp_ns() { # NAME ADDRESS PORT [setting=value...]
  local name=$1 address=$2 port=$3
  shift 3
  local ini="$CONF/$name.ini" log="$STATE/$name.log" ns=${XRDP_NS:-$NS_SERVER}
  write_xrdp_ini "$ini" "$log" "$address" "$port" "$XRDP_LOGLEVEL" \
    "${XRDP_CHAIN:-$CERTS/rdp-a-chain.pem}" "${XRDP_KEY:-$CERTS/rdp-a.key}" "$@"
  [ -d /run/xrdp ] || mkdir -p /run/xrdp
  ns_spawn "$ns" "$name" "$STATE/$name.console.log" \
    unshare --mount --propagation private -- /bin/sh -c \
    'mount -t tmpfs -o mode=0755,size=1m rdpdoctor-lab /run/xrdp && exec "$@"' sh \
    xrdp --nodaemon --config "$ini"
  LAST_LOG="$log ($STATE/$name.console.log)"
  wait_listen "$ns" "$address" "$port" "$name"
}
start_xrdp_ns xrdp-a "$SRV_A" 3390
start_xrdp_ns xrdp-tls-inspected "$SRV_TLS" 3389
start_xrdp_ns xrdp-mtu "$SRV_MTU" 3389
start_xrdp_ns xrdp-lossy "$SRV_LOSS" 3389
start_xrdp_ns xrdp-slow "$SRV_SLOW" 3389
start_xrdp_ns xrdp-flaky "$SRV_FLAKY" 3389

# freerdp-shadow-cli with NLA as rdp-a: its own UTS namespace so its NTLM CHALLENGE names the
# computer RDP-A / rdp-a (it reports the host name), its own HOME for the certificate.
winpr-hash -u "$LAB_USER" -p "$LAB_PASS" -f sam >"$STATE/freerdp.sam" \
  || die "winpr-hash failed to build $STATE/freerdp.sam"
SHADOW_HOME="$STATE/freerdp-a-home"
mkdir -p "$SHADOW_HOME/.config/freerdp/shadow"
cp "$CERTS/rdp-a.pem" "$SHADOW_HOME/.config/freerdp/shadow/shadow.crt"
cp "$CERTS/rdp-a.key" "$SHADOW_HOME/.config/freerdp/shadow/shadow.key"
ns_spawn "$NS_SERVER" freerdp-a "$STATE/freerdp-a.log" \
  unshare --uts -- /bin/sh -c 'hostname rdp-a && exec "$@"' sh \
  env HOME="$SHADOW_HOME" XDG_CONFIG_HOME="$SHADOW_HOME/.config" DISPLAY="$DISPLAY_NUM" \
  freerdp-shadow-cli "/bind-address:$SRV_A" /port:3389 /sec:nla "/sam-file:$STATE/freerdp.sam"
wait_listen "$NS_SERVER" "$SRV_A" 3389 freerdp-a

# ---------------------------------------------------------------------------------------------
# 6. Middleboxes in the router namespace.
cat >"$CONF/haproxy.cfg" <<CFG
# generated by lab/path/start.sh: a healthy TCP load balancer
global
  maxconn 256
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend rdp_nla
  bind $ROUTER_C:3389
  default_backend rdp_nla_servers
backend rdp_nla_servers
  server rdp-a $SRV_A:3389
frontend rdp_xrdp
  bind $ROUTER_C:3390
  default_backend rdp_xrdp_servers
backend rdp_xrdp_servers
  server rdp-a-xrdp $SRV_A:3390
CFG
haproxy -c -q -f "$CONF/haproxy.cfg" || die "haproxy rejects $CONF/haproxy.cfg"
ns_spawn "$NS_ROUTER" haproxy "$STATE/haproxy.log" haproxy -db -f "$CONF/haproxy.cfg"
wait_listen "$NS_ROUTER" "$ROUTER_C" 3389 haproxy
wait_listen "$NS_ROUTER" "$ROUTER_C" 3390 haproxy

# dnsmasq: authoritative for lab.test (unknown names get NXDOMAIN, nothing is forwarded).
cat >"$CONF/hosts" <<HOSTS
# generated by lab/path/start.sh: the client namespace's DNS data
$SRV_A rdp-a.lab.test
# two addresses: one is dead (dropped by the router), one is rdp-a
$DEAD_HOST rdp-a.dual.lab.test
$SRV_A rdp-a.dual.lab.test
# the server behind the TLS-resetting firewall, by name (so the probe sends SNI)
$SRV_TLS inspected.lab.test
# a stale record: rdp-b's name now points at rdp-a (whose certificate and NTLM say rdp-a)
$SRV_A rdp-b.lab.test
HOSTS
chmod 0644 "$CONF/hosts"
ns_spawn "$NS_ROUTER" dnsmasq "$STATE/dnsmasq.log" \
  dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  "--addn-hosts=$CONF/hosts" --local=/lab.test/ "--listen-address=$ROUTER_C" --bind-interfaces \
  --port=53 --pid-file= --log-queries --log-facility=- --user=root --group=root
deadline=$((SECONDS + WAIT))
until in_ns "$NS_ROUTER" ss -Hulnp "sport = :53" | grep -q "pid=$LAST_PID,"; do
  kill -0 "$LAST_PID" 2>/dev/null || die "dnsmasq exited during startup; see $STATE/dnsmasq.log"
  [ "$SECONDS" -lt "$deadline" ] || die "dnsmasq did not listen on $ROUTER_C:53 within ${WAIT}s; see $STATE/dnsmasq.log"
  sleep 0.1
done

# Extension point: more middleboxes (an interceptor) in lab/path/router.d/*.sh.
shopt -s nullglob
for hook in "$PATHLAB"/router.d/*.sh; do
  # shellcheck disable=SC1090
  . "$hook" || die "router.d hook $hook failed"
done
shopt -u nullglob

# ---------------------------------------------------------------------------------------------
# 7. Targets, then check from the client side that each middlebox does what it should.
add_target healthy-nla-router "$NS_CLIENT" "$SRV_A:3389" router \
  "freerdp-shadow /sec:nla (rdp-a) through the bare router: healthy, no finding"
add_target healthy-nla-name "$NS_CLIENT" "rdp-a.lab.test:3389" router \
  "the same server by name through dnsmasq: healthy, no finding"
add_target healthy-nla-haproxy "$NS_CLIENT" "$ROUTER_C:3389" haproxy \
  "freerdp-shadow /sec:nla (rdp-a) behind haproxy (TCP mode): healthy, no finding"
add_target xrdp-router "$NS_CLIENT" "$SRV_A:3390" router \
  "xrdp negotiate through the bare router: nla-not-enforced only, as on loopback"
add_target xrdp-haproxy "$NS_CLIENT" "$ROUTER_C:3390" haproxy \
  "xrdp negotiate behind haproxy: nla-not-enforced only"
add_target filtered "$NS_CLIENT" "$SRV_A:3391" router \
  "the router drops SYNs: port-filtered"
add_target rejected-admin "$NS_CLIENT" "$SRV_A:3392" router \
  "the router answers ICMP 3/13 administratively prohibited: port-rejected-by-firewall"
add_target rejected-port-unreachable "$NS_CLIENT" "$SRV_A:3394" router \
  "the router answers ICMP 3/3 port unreachable (connect says refused): port-rejected-by-firewall"
add_target host-unreachable "$NS_CLIENT" "$NO_HOST:3389" router \
  "no host at the address: the router's ARP gets no answer, it sends ICMP 3/1 host unreachable: host-unreachable"
add_target no-neighbour "$NS_CLIENT" "$NO_NEIGHBOUR:3389" router \
  "no host at an address on the client's own subnet: the client's own ARP fails (ICMP from itself): host-unreachable"
add_target no-route "$NS_NOROUTE" "$SRV_A:3389" router \
  "the client has no route to the address (a VPN that is down): connect fails at once, nothing is sent: no-route"
add_target closed "$NS_CLIENT" "$SRV_A:3399" router \
  "nothing listens; the server's own reset: port-closed"
add_target tls-reset "$NS_CLIENT" "$SRV_TLS:3389" router \
  "xrdp behind a firewall that resets any segment starting like a TLS ClientHello: tls-reset-in-path"
add_target tls-reset-name "$NS_CLIENT" "inspected.lab.test:3389" router \
  "the same, by name: the retry without SNI is reset too, the split one completes: tls-reset-in-path"
add_target tls-reset-transient "$NS_CLIENT" "$SRV_FLAKY:3389" router \
  "xrdp behind a firewall that resets only a client's first $FLAKY_BURST ClientHellos (2 s apart at least): the control retry completes, so no device is named"
add_target mtu-blackhole "$NS_CLIENT" "$SRV_MTU:3389" router \
  "xrdp behind a ${MTU_LIMIT}-byte route MTU with ICMP fragmentation-needed dropped: path-mtu-blackhole"
add_target lossy "$NS_CLIENT" "$SRV_LOSS:3389" router \
  "xrdp behind a router dropping every third data packet towards it: packet-loss"
add_target slow-link "$NS_CLIENT" "$SRV_SLOW:3389" router \
  "xrdp behind a ${SLOW_RATE}/s link towards the client (tc htb): answers queue, round trips pass 150 ms: high-latency"
add_target dual-address "$NS_CLIENT" "rdp-a.dual.lab.test:3389" router \
  "a name with a dead ($DEAD_HOST) and a live ($SRV_A) address: address-unreachable"
add_target stale-record "$NS_CLIENT" "rdp-b.lab.test:3389" router \
  "rdp-b's record points at rdp-a: host-identity-mismatch (and cert-name-mismatch)"
add_target missing-name "$NS_CLIENT" "nosuch.lab.test:3389" router \
  "dnsmasq answers NXDOMAIN: dns-failure"
add_target dns-timeout "$NS_NODNS" "rdp-a.lab.test:3389" router \
  "the resolver ($DEAD_DNS) never answers: dns-timeout"

probe() { # NS ADDRESS PORT -> connected | refused | unreachable | timeout
  local out
  out=$(ip netns exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1) && { echo connected; return; }
  case $out in
    *refused*) echo refused ;;
    *"No route"* | *unreachable*) echo unreachable ;;
    *) echo timeout ;;
  esac
}
expect() { # WHAT GOT WANT
  [ "$2" = "$3" ] || die "self-check: $1: got '$2', expected '$3' (see $CONF/router.nft and the logs in $STATE)"
}
expect "client -> rdp-a:3389 (freerdp)" "$(probe "$NS_CLIENT" "$SRV_A" 3389)" connected
expect "client -> haproxy:3389" "$(probe "$NS_CLIENT" "$ROUTER_C" 3389)" connected
expect "client -> rdp-a:3391 (filtered)" "$(probe "$NS_CLIENT" "$SRV_A" 3391)" timeout
expect "client -> rdp-a:3392 (admin-prohibited)" "$(probe "$NS_CLIENT" "$SRV_A" 3392)" unreachable
expect "client -> rdp-a:3394 (port-unreachable)" "$(probe "$NS_CLIENT" "$SRV_A" 3394)" refused
expect "client -> rdp-a:3399 (closed)" "$(probe "$NS_CLIENT" "$SRV_A" 3399)" refused
expect "client -> $NO_HOST:3389 (no host)" "$(probe "$NS_CLIENT" "$NO_HOST" 3389)" unreachable
expect "noroute -> rdp-a:3389 (no route)" "$(probe "$NS_NOROUTE" "$SRV_A" 3389)" unreachable
expect "client -> $SRV_TLS:3389" "$(probe "$NS_CLIENT" "$SRV_TLS" 3389)" connected
expect "client -> $SRV_MTU:3389" "$(probe "$NS_CLIENT" "$SRV_MTU" 3389)" connected
expect "DNS rdp-a.lab.test" "$(ip netns exec "$NS_CLIENT" getent ahostsv4 rdp-a.lab.test | awk 'NR==1{print $1}')" "$SRV_A"
expect "DNS rdp-a.dual.lab.test" \
  "$(ip netns exec "$NS_CLIENT" getent ahostsv4 rdp-a.dual.lab.test | awk '$2=="STREAM"{print $1}' | sort | tr '\n' ' ')" \
  "$SRV_A $DEAD_HOST "
if ip netns exec "$NS_CLIENT" getent ahostsv4 nosuch.lab.test >/dev/null; then
  die "self-check: nosuch.lab.test resolves, but dnsmasq must answer NXDOMAIN"
fi

"$PYTHON" - "$STATE/targets.tsv" "$STATE/path.json" "$BASE" "$LAB_USER" "$LAB_PASS" \
  "$NS_CLIENT" "$NS_NODNS" "$NS_ROUTER" "$NS_SERVER" "$LOOP_STATE/certs/ca.pem" "$NS_NOROUTE" <<'PY'
import json, os, sys
tsv, out, base, user, password, ns_client, ns_nodns, ns_router, ns_server, ca, ns_noroute = sys.argv[1:]
targets = []
with open(tsv) as f:
    for line in f:
        name, ns, target, via, behaviour = line.rstrip("\n").split("\t")
        targets.append({"name": name, "client_ns": ns, "target": target, "via": via,
                        "behaviour": behaviour})
doc = {"base_port": int(base),
       "namespaces": {"client": ns_client, "nodns": ns_nodns, "router": ns_router,
                      "server": ns_server, "noroute": ns_noroute},
       "ca": ca,
       "credentials": {"rdp-a": {"user": user, "domain": "", "password": password}},
       "targets": targets}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(out + ".tmp", out)
PY

started_ok=1
echo "path/start.sh: path lab up: namespaces $NS_CLIENT $NS_NODNS $NS_NOROUTE $NS_ROUTER $NS_SERVER, $(wc -l <"$STATE/targets.tsv") targets in ${STATE#"$ROOT"/}/path.json"

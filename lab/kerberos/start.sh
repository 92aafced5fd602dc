#!/usr/bin/env bash
# Start the Kerberos lab: a real KDC (Samba 4.17 as an Active Directory domain controller) with
# its DNS (SRV records), a session host that accepts Kerberos inside CredSSP (a stand-in on real
# libraries, lab/kerberos/credssp_host.py), and client namespaces to run real Kerberos clients
# (kinit, kvno, rdesktop) from.
#
#   lab/start.sh               # the loopback lab first (its CA and Xvfb display are reused)
#   lab/kerberos/start.sh      # as root; writes lab/kerberos/state/kerberos.json
#   lab/kerberos/stop.sh       # stops every recorded PID, deletes every recorded namespace
#
# Why Samba and not MIT krb5kdc: Samba runs here as an AD DC inside a network namespace (provision
# takes about 4 s), and it is what a Windows client meets: the KDC, the AD-integrated DNS with the
# _kerberos._tcp / _ldap._tcp SRV records a client looks up, SPNs on computer accounts
# (samba-tool spn), msDS-SupportedEncryptionTypes, NT-hash-only accounts. MIT would need dnsmasq
# for the SRV records and has none of the AD account semantics.
#
# Topology (addresses from 198.18.64.0/20 only; nothing is added to the root namespace):
#
#   rdpd-krb-BASE-client 198.18.64.2 --- 198.18.64.1 [rdpd-krb-BASE-router] 198.18.65.1 --- rdpd-krb-BASE-srv
#   rdpd-krb-BASE-vpn    198.18.66.2 --- 198.18.66.1                                       198.18.65.10 dc1.lab.test (Samba)
#                                                                                          198.18.65.20 rdp-k.lab.test (stand-in)
#                                                                                          198.18.65.30 kdcproxy.lab.test (KDC proxy, 443)
#   client  resolver: the DC (198.18.65.10); krb5.conf finds the KDC through DNS SRV records
#   vpn     resolver: the DC too, but the router silently drops its Kerberos traffic (88, 464):
#           a VPN that routes DNS but not the KDC ("KDC unreachable")
#   router  forwards; nftables drops the vpn client's Kerberos traffic and everything to
#           198.18.65.99, the KDC that the SRV records of realm DEAD.LAB.TEST name (a dead KDC)
#
# Realm LAB.TEST (NetBIOS LAB). Accounts:
#   kuser    / KerbPass-2026!   a normal user (the wrong-password case is this user with another password)
#   rc4user  / Rc4Pass-2026!    only an NT hash, no AES keys (a password set before AES, or migrated):
#                               a client that refuses RC4 gets KDC_ERR_ETYPE_NOSUPP
#   RDP-K$   computer, msDS-SupportedEncryptionTypes 0x1C, SPNs TERMSRV/rdp-k.lab.test, TERMSRV/RDP-K
#   RDP-OLD$ computer with msDS-SupportedEncryptionTypes 0x4 (RC4 only: the KDC issues RC4 tickets for it),
#            SPN TERMSRV/rdp-old.lab.test: an AES-only client cannot get a ticket for it
# DNS names: dc1, rdp-k, rdp-old and rdp-alias (no SPN at all) in lab.test, the last three all
# 198.18.65.20. The session host stand-in holds a keytab for both TERMSRV SPNs.
#
# Session host stand-ins on 198.18.65.20 (see credssp_host.py): 3389 normal (Kerberos and NTLM),
# 3390 NTLM refused (as "Restrict NTLM: Incoming NTLM traffic = Deny all accounts").
#
# Everything the tests need (namespaces, addresses, accounts, krb5.conf files, event logs) is
# listed in lab/kerberos/state/kerberos.json.
#
# Env: RDPDOCTOR_LAB_BASE_PORT (names the namespaces rdpd-krb-BASE-*, default 13389, as the loopback and path labs),
#      RDPDOCTOR_LAB_WAIT (seconds to wait for listeners, default 30).
# Needs root (CI runs as root). It fails, never skips, when something cannot start.
set -euo pipefail

KRBLAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(dirname "$KRBLAB")
ROOT=$(dirname "$LAB")
# shellcheck source=lab/lib.sh
. "$LAB/lib.sh"
STATE="$KRBLAB/state"
PIDS="$STATE/pids"
CONF="$STATE/conf"
CERTS="$STATE/certs"
SAMBA="$STATE/samba"
LOOP_STATE="$LAB/state"
BASE=${RDPDOCTOR_LAB_BASE_PORT:-13389}
WAIT=${RDPDOCTOR_LAB_WAIT:-30}
VENV=${RDPDOCTOR_LAB_KERBEROS_VENV:-/opt/rdpdoctor-lab/kerberos-venv}

REALM=LAB.TEST
DOMAIN=LAB
DNS_DOMAIN=lab.test
ADMIN_PASS='AdminPass-2026!'
USER_NAME=kuser
USER_PASS='KerbPass-2026!'
RC4_USER=rc4user
RC4_PASS='Rc4Pass-2026!'
HOST_PASS='HostPass-2026!Machine'

PREFIX="rdpd-krb-$BASE"
NS_CLIENT="$PREFIX-client"
NS_VPN="$PREFIX-vpn"
NS_ROUTER="$PREFIX-router"
NS_SRV="$PREFIX-srv"

CLIENT=198.18.64.2
ROUTER_C=198.18.64.1
VPN_CLIENT=198.18.66.2
ROUTER_V=198.18.66.1
ROUTER_S=198.18.65.1
DC=198.18.65.10
HOST=198.18.65.20
DEAD_KDC=198.18.65.99
KDC_PROXY=198.18.65.30
PORT_NORMAL=3389
PORT_NO_NTLM=3390

die() {
  echo "kerberos/start.sh: ERROR: $*" >&2
  exit 1
}
started_ok=0
on_exit() {
  local rc=$?
  if [ "$started_ok" -ne 1 ]; then
    echo "kerberos/start.sh: start failed (exit $rc); stopping whatever was started (lab/kerberos/stop.sh)" >&2
    "$KRBLAB/stop.sh" >&2 || true
  fi
}

[[ "$BASE" =~ ^[0-9]+$ ]] || die "RDPDOCTOR_LAB_BASE_PORT=$BASE is not a number"
[ "$(id -u)" -eq 0 ] || die "the Kerberos lab needs root to create network namespaces (CI runs as root); run it as root"
SYS_PYTHON=/usr/bin/python3
[ -x "$SYS_PYTHON" ] || die "$SYS_PYTHON not found; run lab/install.sh (as root) first"
for tool in ip nft samba samba-tool pdbedit kinit kvno klist rdesktop faketime openssl ss unshare timeout getent iconv; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run lab/install.sh (as root) first"
done
[ -x "$VENV/bin/python" ] || die "the stand-in's venv $VENV is missing; run lab/install.sh (as root) first"
[ -f "$LOOP_STATE/servers.json" ] \
  || die "the loopback lab is not running ($LOOP_STATE/servers.json missing): start lab/start.sh first (its CA and Xvfb display are reused)"
DISPLAY_NUM=$("$SYS_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["xvfb"]["display"])' "$LOOP_STATE/servers.json") \
  || die "cannot read the Xvfb display from $LOOP_STATE/servers.json"
for f in ca.pem ca.key ca.cnf; do
  [ -f "$LOOP_STATE/certs/$f" ] || die "the loopback lab's CA file $LOOP_STATE/certs/$f is missing; restart lab/start.sh"
done

# ---------------------------------------------------------------------------------------------
# 0. Stop a previous Kerberos lab, then start from a clean state directory.
"$KRBLAB/stop.sh"
trap on_exit EXIT
rm -rf "$STATE"
mkdir -p "$STATE" "$PIDS" "$CONF" "$CERTS" "$SAMBA"
: >"$STATE/netns.list"

# ---------------------------------------------------------------------------------------------
# 1. Namespaces and links (make_ns, veth, in_ns and ns_spawn are in lab/lib.sh; each veth pair is
#    created directly inside the two namespaces it joins).
for ns in "$NS_CLIENT" "$NS_VPN" "$NS_ROUTER" "$NS_SRV"; do make_ns "$ns"; done
veth "$NS_CLIENT" eth0 "$NS_ROUTER" c0
veth "$NS_VPN" eth0 "$NS_ROUTER" v0
veth "$NS_SRV" eth0 "$NS_ROUTER" s0
ip -n "$NS_CLIENT" addr add "$CLIENT/24" dev eth0
ip -n "$NS_CLIENT" route add default via "$ROUTER_C"
ip -n "$NS_VPN" addr add "$VPN_CLIENT/24" dev eth0
ip -n "$NS_VPN" route add default via "$ROUTER_V"
ip -n "$NS_ROUTER" addr add "$ROUTER_C/24" dev c0
ip -n "$NS_ROUTER" addr add "$ROUTER_V/24" dev v0
ip -n "$NS_ROUTER" addr add "$ROUTER_S/24" dev s0
ip -n "$NS_SRV" addr add "$DC/24" dev eth0
ip -n "$NS_SRV" addr add "$HOST/24" dev eth0
ip -n "$NS_SRV" addr add "$KDC_PROXY/24" dev eth0
ip -n "$NS_SRV" route add default via "$ROUTER_S"
in_ns "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 || die "cannot enable forwarding in $NS_ROUTER"

# Resolvers: every namespace asks the DC (ip netns exec bind-mounts /etc/netns/NS/resolv.conf),
# the server namespace too, so Samba's own DNS updates go to itself and nowhere else.
: >"$STATE/etc-netns.list"
for ns in "$NS_CLIENT" "$NS_VPN" "$NS_SRV"; do
  mkdir -p "/etc/netns/$ns"
  echo "/etc/netns/$ns" >>"$STATE/etc-netns.list"
  printf 'nameserver %s\nsearch %s\n' "$DC" "$DNS_DOMAIN" >"/etc/netns/$ns/resolv.conf"
done

cat >"$CONF/router.nft" <<NFT
# generated by lab/kerberos/start.sh -- loaded into $NS_ROUTER only
table inet rdpdoctor_kerberos {
  chain forward {
    type filter hook forward priority filter; policy accept;
    # The VPN client reaches DNS and the session host but not the KDC (Kerberos and kpasswd):
    # silence, no ICMP, as a VPN that does not route to the domain controllers.
    ip saddr $VPN_CLIENT ip daddr $DC meta l4proto { tcp, udp } th dport { 88, 464 } drop
    # The KDC named by the SRV records of realm DEAD.LAB.TEST is gone.
    ip daddr $DEAD_KDC drop
  }
}
NFT
in_ns "$NS_ROUTER" nft -f "$CONF/router.nft" || die "nft could not load $CONF/router.nft into $NS_ROUTER"

# ---------------------------------------------------------------------------------------------
# 2. Process bookkeeping.
LAST_PID=""
wait_port() { # NS PROTO(t|u) ADDRESS PORT NAME: the last spawned process (or a child) listens there
  local ns=$1 proto=$2 address=$3 port=$4 name=$5 pid=$LAST_PID log=$LAST_LOG
  local deadline=$((SECONDS + WAIT))
  while :; do
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during startup; see $log"
    if ip netns exec "$ns" ss -H"$proto"ln "sport = :$port" | grep -qF " $address:$port "; then
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not listen on $address:$port ($proto) in $ns within ${WAIT}s; see $log"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# 3. Samba AD DC: provision into lab/kerberos/state/samba (never /etc/samba or /var/lib/samba),
#    accounts and SPNs offline against its sam.ldb, then the server in the server namespace under
#    its own UTS namespace (host name dc1).
SMBCONF="$SAMBA/etc/smb.conf"
in_srv_dc() { # CMD...: in the server namespace with host name dc1
  ip netns exec "$NS_SRV" unshare --uts -- /bin/sh -c 'hostname dc1 && exec "$@"' sh "$@"
}
in_srv_dc samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
  --dns-backend=SAMBA_INTERNAL --adminpass="$ADMIN_PASS" --targetdir="$SAMBA" --host-name=dc1 \
  --host-ip="$DC" --option="interfaces = $DC/24" --option="bind interfaces only = yes" \
  >"$STATE/provision.log" 2>&1 || die "samba-tool domain provision failed; see $STATE/provision.log"
# provision copies the machine's resolver into "dns forwarder": the lab's DNS must never forward
# a query out of the lab, so drop it (unknown names get an error answer instead). Logs stay in state/.
sed -i '/dns forwarder/d; s#^\(\s*log file = \).*#\1'"$STATE"'/samba.log.%m#' "$SMBCONF"
sed -i 's#^\(\s*workgroup = .*\)#\1\n\tserver services = -s3fs -nbt -wrepl\n\tlog level = 1 auth_audit:3 kerberos:2#' "$SMBCONF"
# Samba keeps its pid file and sockets under /run/samba and /var/lib/samba by default: a second
# lab (another base port) or a host's own Samba would collide there, so they live in state/ too.
mkdir -p "$SAMBA/run"
sed -i 's#^\(\s*workgroup = .*\)#\1\n\tpid directory = '"$SAMBA"'/run\n\tncalrpc dir = '"$SAMBA"'/run/ncalrpc\n\twinbindd socket directory = '"$SAMBA"'/run/winbindd\n\tntp signd socket directory = '"$SAMBA"'/run/ntp_signd#' "$SMBCONF"
grep -q 'dns forwarder' "$SMBCONF" && die "$SMBCONF still names a DNS forwarder"

tool() { # samba-tool SUBCOMMAND... against the provisioned database
  in_srv_dc samba-tool "$@" -s "$SMBCONF" >>"$STATE/samba-tool.log" 2>&1 \
    || die "samba-tool $1 $2 failed; see $STATE/samba-tool.log"
}
tool user create "$USER_NAME" "$USER_PASS" --given-name=Kerberos --surname=User
tool user create "$RC4_USER" "$RC4_PASS"
# No password expiry (Samba's default is 42 days): clients print no expiry warning.
tool user setexpiry "$USER_NAME" --noexpiry
tool user setexpiry "$RC4_USER" --noexpiry
tool computer create RDP-K --service-principal-name=TERMSRV/rdp-k.$DNS_DOMAIN --service-principal-name=TERMSRV/RDP-K
tool computer create RDP-OLD --service-principal-name=TERMSRV/rdp-old.$DNS_DOMAIN
# RDP-K$ announces AES as a joined Windows computer does (0x1C: RC4, AES128, AES256); RDP-OLD$ is
# set to RC4 only (0x4), as accounts were to work around old software: the KDC encrypts its
# tickets with RC4, which a client with RC4 turned off refuses.
"$SYS_PYTHON" - "$SMBCONF" "$SAMBA/private/sam.ldb" >>"$STATE/samba-tool.log" 2>&1 <<'PY' || die "setting msDS-SupportedEncryptionTypes on RDP-K\$ and RDP-OLD\$ failed; see $STATE/samba-tool.log"
import sys
import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
for account, enctypes in (("RDP-K$", "28"), ("RDP-OLD$", "4")):
    res = db.search(base=db.domain_dn(), expression="(sAMAccountName=%s)" % account, attrs=["dn"])
    m = ldb.Message()
    m.dn = res[0].dn
    m["e"] = ldb.MessageElement(enctypes, ldb.FLAG_MOD_REPLACE, "msDS-SupportedEncryptionTypes")
    db.modify(m)
    print("msDS-SupportedEncryptionTypes=%s on %s" % (enctypes, res[0].dn))
PY
# samba-tool computer create sets no usable keys; a password set afterwards derives them.
tool user setpassword 'RDP-K$' --newpassword="$HOST_PASS"
tool user setpassword 'RDP-OLD$' --newpassword="$HOST_PASS"
# rc4user keeps only its NT hash (MD4 of the UTF-16LE password): no AES keys, as an account whose
# password predates AES. (The password is the lab's, not a secret.)
RC4_NT=$(printf '%s' "$RC4_PASS" | iconv -t UTF-16LE | openssl dgst -md4 -provider legacy -provider default | awk '{print $NF}')
[[ "$RC4_NT" =~ ^[0-9a-f]{32}$ ]] || die "cannot compute the NT hash of $RC4_USER (openssl md4 needs the legacy provider)"
in_srv_dc pdbedit -s "$SMBCONF" -u "$RC4_USER" --set-nt-hash="$RC4_NT" >>"$STATE/samba-tool.log" 2>&1 \
  || die "pdbedit --set-nt-hash for $RC4_USER failed; see $STATE/samba-tool.log"
KEYTAB="$STATE/host.keytab"
tool domain exportkeytab "$KEYTAB" --principal="TERMSRV/rdp-k.$DNS_DOMAIN"
tool domain exportkeytab "$KEYTAB" --principal="TERMSRV/rdp-old.$DNS_DOMAIN"
chmod 0600 "$KEYTAB"

ns_spawn "$NS_SRV" samba "$STATE/samba.out" \
  unshare --uts -- /bin/sh -c 'hostname dc1 && exec "$@"' sh samba --interactive -s "$SMBCONF"
wait_port "$NS_SRV" u "$DC" 53 samba
wait_port "$NS_SRV" t "$DC" 53 samba
wait_port "$NS_SRV" t "$DC" 88 samba
wait_port "$NS_SRV" u "$DC" 88 samba
wait_port "$NS_SRV" t "$DC" 135 samba

# DNS records for the session host names and the dead realm (the DNS server must run for these).
dns_add() { # NAME TYPE DATA
  local tries=0
  until in_ns "$NS_SRV" samba-tool dns add "$DC" "$DNS_DOMAIN" "$1" "$2" "$3" -s "$SMBCONF" \
    -U Administrator --password="$ADMIN_PASS" --use-kerberos=off >>"$STATE/samba-tool.log" 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 10 ] || die "samba-tool dns add $1 $2 $3 failed; see $STATE/samba-tool.log"
    sleep 1
  done
}
dns_add rdp-k A "$HOST"
dns_add rdp-old A "$HOST"
dns_add rdp-alias A "$HOST"
dns_add dead-kdc A "$DEAD_KDC"
dns_add kdcproxy A "$KDC_PROXY"
dns_add _kerberos._tcp.dead SRV "dead-kdc.$DNS_DOMAIN 88 0 100"
dns_add _kerberos._udp.dead SRV "dead-kdc.$DNS_DOMAIN 88 0 100"

# ---------------------------------------------------------------------------------------------
# 4. The session host's TLS certificate, signed by the loopback lab's CA, for every name and the
#    address the tests use.
cat >"$CERTS/leaf.ext" <<EXT
[ krb_leaf ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:rdp-k.$DNS_DOMAIN,DNS:rdp-old.$DNS_DOMAIN,DNS:rdp-alias.$DNS_DOMAIN,IP:$HOST,DNS:kdcproxy.$DNS_DOMAIN,IP:$KDC_PROXY
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EXT
utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
openssl req -new -newkey rsa:2048 -nodes -keyout "$CERTS/rdp-k.key" -out "$CERTS/rdp-k.csr" \
  -subj "/CN=rdp-k.$DNS_DOMAIN" >"$CERTS/openssl.log" 2>&1 || die "openssl: key/CSR for rdp-k failed, see $CERTS/openssl.log"
openssl ca -batch -notext -config "$LOOP_STATE/certs/ca.cnf" -cert "$LOOP_STATE/certs/ca.pem" \
  -keyfile "$LOOP_STATE/certs/ca.key" -in "$CERTS/rdp-k.csr" -out "$CERTS/rdp-k.pem" \
  -extfile "$CERTS/leaf.ext" -extensions krb_leaf -startdate "$(utc '-1 day')" \
  -enddate "$(utc '-1 day +730 days')" >>"$CERTS/openssl.log" 2>&1 \
  || die "openssl: signing rdp-k failed, see $CERTS/openssl.log"
cat "$CERTS/rdp-k.pem" "$LOOP_STATE/certs/ca.pem" >"$CERTS/rdp-k-chain.pem"
chmod 0600 "$CERTS/rdp-k.key"

# ---------------------------------------------------------------------------------------------
# 5. Kerberos client configurations. Like a Windows client, they find the KDC through the DNS SRV
#    records of the realm and ask for TERMSRV/<the name as typed>: no canonicalisation of the host
#    name through DNS, no reverse lookup.
write_krb5_conf() { # FILE [extra libdefaults line...]
  local f=$1
  shift
  {
    echo "# generated by lab/kerberos/start.sh: a client of the lab realm (KDC found through DNS SRV records)"
    echo "[libdefaults]"
    echo "  default_realm = $REALM"
    echo "  dns_lookup_kdc = true"
    echo "  dns_lookup_realm = false"
    echo "  dns_canonicalize_hostname = false"
    echo "  rdns = false"
    local line
    for line in "$@"; do echo "  $line"; done
    echo "[domain_realm]"
    echo "  .$DNS_DOMAIN = $REALM"
    echo "  $DNS_DOMAIN = $REALM"
  } >"$f"
}
write_krb5_conf "$CONF/krb5.conf"
# A client with RC4 turned off (as Windows after "Network security: Configure encryption types
# allowed for Kerberos" without RC4): rc4user and RDP-OLD$ give KDC_ERR_ETYPE_NOSUPP.
write_krb5_conf "$CONF/krb5-aes-only.conf" \
  "permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96" \
  "default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96" \
  "default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
# MIT kinit silently corrects its clock from the KDC's KRB_AP_ERR_SKEW reply and retries
# (kdc_timesync, on by default); with it off a skewed client sees the error itself.
write_krb5_conf "$CONF/krb5-no-timesync.conf" "kdc_timesync = 0"
# The session host's own: the acceptor only reads its keytab, the realm is for names.
write_krb5_conf "$CONF/host-krb5.conf"

# ---------------------------------------------------------------------------------------------
# 6. The session host stand-ins (Kerberos CredSSP acceptors) on 198.18.65.20.
# NetBIOS form (DOMAIN\user) and UPN form (user@REALM, empty domain: what sspi sends), as Windows accepts both.
printf '%s:%s:%s\n:%s@%s:%s\n' "$DOMAIN" "$USER_NAME" "$USER_PASS" "$USER_NAME" "$REALM" "$USER_PASS" >"$CONF/ntlm-users"
chmod 0600 "$CONF/ntlm-users"
start_host() { # NAME MODE PORT
  local name=$1 mode=$2 port=$3
  : >"$STATE/$name.events.jsonl"
  ns_spawn "$NS_SRV" "$name" "$STATE/$name.log" env \
    CREDSSP_CERT="$CERTS/rdp-k-chain.pem" CREDSSP_KEY="$CERTS/rdp-k.key" \
    KRB5_KTNAME="FILE:$KEYTAB" KRB5_CONFIG="$CONF/host-krb5.conf" \
    NTLM_USER_FILE="$CONF/ntlm-users" CREDSSP_EVENTS="$STATE/$name.events.jsonl" \
    CREDSSP_NTLM_IDENTITY="RDP-K,$DOMAIN,rdp-k.$DNS_DOMAIN,$DNS_DOMAIN" \
    "$VENV/bin/python" -u "$KRBLAB/credssp_host.py" "$mode" "$HOST" "$port"
  wait_port "$NS_SRV" t "$HOST" "$port" "$name"
}
start_host credssp-normal normal "$PORT_NORMAL"
start_host credssp-refuse-ntlm refuse-ntlm "$PORT_NO_NTLM"

# ---------------------------------------------------------------------------------------------
# 6b. A KDC proxy (MS-KKDCP over HTTPS, as RD Gateway deployments publish one) on 198.18.65.30:443:
#     FreeIPA's python3-kdcproxy (Debian) in gunicorn with TLS (the lab CA's certificate for
#     kdcproxy.lab.test), relaying to the DC's KDC. The VPN client, whose Kerberos traffic the
#     router drops, reaches it: the case a KDC proxy exists for.
cat >"$CONF/kdcproxy.conf" <<KDCPROXY
# generated by lab/kerberos/start.sh: the realm's KDC, no DNS lookups by the proxy
[global]
use_dns = false
[$REALM]
kerberos = kerberos://$DC:88
KDCPROXY
ns_spawn "$NS_SRV" kdcproxy "$STATE/kdcproxy.log" env KDCPROXY_CONFIG="$CONF/kdcproxy.conf" \
  gunicorn --bind "$KDC_PROXY:443" --workers 1 --certfile "$CERTS/rdp-k-chain.pem" \
  --keyfile "$CERTS/rdp-k.key" --access-logfile - kdcproxy:application
wait_port "$NS_SRV" t "$KDC_PROXY" 443 kdcproxy

# ---------------------------------------------------------------------------------------------
# 7. Self-checks from the client side: DNS, the SRV records, a ticket for the session host.
expect() { # WHAT GOT WANT
  [ "$2" = "$3" ] || die "self-check: $1: got '$2', expected '$3' (see the logs in $STATE)"
}
expect "DNS rdp-k.$DNS_DOMAIN" "$(in_ns "$NS_CLIENT" getent ahostsv4 "rdp-k.$DNS_DOMAIN" | awk 'NR==1{print $1}')" "$HOST"
expect "DNS rdp-alias.$DNS_DOMAIN" "$(in_ns "$NS_CLIENT" getent ahostsv4 "rdp-alias.$DNS_DOMAIN" | awk 'NR==1{print $1}')" "$HOST"
expect "DNS from the vpn client" "$(in_ns "$NS_VPN" getent ahostsv4 "dc1.$DNS_DOMAIN" | awk 'NR==1{print $1}')" "$DC"
CHECK_CC="$STATE/selfcheck.ccache"
printf '%s\n' "$USER_PASS" | in_ns "$NS_CLIENT" env KRB5_CONFIG="$CONF/krb5.conf" KRB5CCNAME="FILE:$CHECK_CC" \
  timeout 20 kinit "$USER_NAME@$REALM" >"$STATE/selfcheck.log" 2>&1 \
  || die "self-check: kinit $USER_NAME@$REALM from $NS_CLIENT failed; see $STATE/selfcheck.log and $STATE/samba.out"
in_ns "$NS_CLIENT" env KRB5_CONFIG="$CONF/krb5.conf" KRB5CCNAME="FILE:$CHECK_CC" \
  timeout 20 kvno "TERMSRV/rdp-k.$DNS_DOMAIN" >>"$STATE/selfcheck.log" 2>&1 \
  || die "self-check: kvno TERMSRV/rdp-k.$DNS_DOMAIN from $NS_CLIENT failed; see $STATE/selfcheck.log"
rm -f "$CHECK_CC"
# MIT kinit through the KDC proxy from the VPN namespace (no route to port 88): a real KKDCP client.
# (http_anchors is a relation of the realm: the lab CA that signed the proxy's certificate.)
write_krb5_conf "$CONF/krb5-kdcproxy.conf"
sed -i "s#^\[domain_realm\]#[realms]\n  $REALM = {\n    kdc = https://kdcproxy.$DNS_DOMAIN/KdcProxy\n    http_anchors = FILE:$LOOP_STATE/certs/ca.pem\n  }\n[domain_realm]#" "$CONF/krb5-kdcproxy.conf"
printf '%s\n' "$USER_PASS" | in_ns "$NS_VPN" env KRB5_CONFIG="$CONF/krb5-kdcproxy.conf" KRB5CCNAME="FILE:$CHECK_CC" \
  timeout 20 kinit "$USER_NAME@$REALM" >>"$STATE/selfcheck.log" 2>&1 \
  || die "self-check: kinit $USER_NAME@$REALM through the KDC proxy from $NS_VPN failed; see $STATE/selfcheck.log and $STATE/kdcproxy.log"
rm -f "$CHECK_CC"

# ---------------------------------------------------------------------------------------------
# 8. kerberos.json: everything the tests need.
"$SYS_PYTHON" - "$STATE/kerberos.json" <<PY
import json, os, sys
out = sys.argv[1]
state, conf = "$STATE", "$CONF"
doc = {
    "base_port": $BASE,
    "realm": "$REALM", "netbios_domain": "$DOMAIN", "dns_domain": "$DNS_DOMAIN",
    "namespaces": {"client": "$NS_CLIENT", "vpn": "$NS_VPN", "router": "$NS_ROUTER", "srv": "$NS_SRV"},
    "addresses": {"client": "$CLIENT", "vpn_client": "$VPN_CLIENT", "kdc": "$DC", "host": "$HOST",
                  "dead_kdc": "$DEAD_KDC"},
    "kdc": {"name": "dc1.$DNS_DOMAIN", "address": "$DC", "port": 88, "implementation": "samba-ad-dc"},
    "hosts": {
        "rdp-k": {"fqdn": "rdp-k.$DNS_DOMAIN", "spn": "TERMSRV/rdp-k.$DNS_DOMAIN", "enctypes": "aes,rc4"},
        "rdp-old": {"fqdn": "rdp-old.$DNS_DOMAIN", "spn": "TERMSRV/rdp-old.$DNS_DOMAIN", "enctypes": "rc4"},
        "rdp-alias": {"fqdn": "rdp-alias.$DNS_DOMAIN", "spn": None, "enctypes": None},
    },
    "accounts": {
        "normal": {"user": "$USER_NAME", "password": "$USER_PASS", "principal": "$USER_NAME@$REALM"},
        "rc4_only": {"user": "$RC4_USER", "password": "$RC4_PASS", "principal": "$RC4_USER@$REALM"},
    },
    "realms_without_kdc": {"dead_srv": "DEAD.LAB.TEST", "no_srv": "NOSRV.TEST"},
    "kdc_proxy": {"url": "https://kdcproxy.$DNS_DOMAIN/KdcProxy", "address": "$KDC_PROXY",
                  "log": state + "/kdcproxy.log"},
    "krb5_conf": {"default": conf + "/krb5.conf", "aes_only": conf + "/krb5-aes-only.conf",
                  "kdcproxy": conf + "/krb5-kdcproxy.conf",
                  "no_timesync": conf + "/krb5-no-timesync.conf"},
    "keytab": "$KEYTAB",
    "session_hosts": [
        {"name": "credssp-normal", "address": "$HOST", "port": $PORT_NORMAL, "mode": "normal",
         "log": state + "/credssp-normal.log", "events": state + "/credssp-normal.events.jsonl"},
        {"name": "credssp-refuse-ntlm", "address": "$HOST", "port": $PORT_NO_NTLM, "mode": "refuse-ntlm",
         "log": state + "/credssp-refuse-ntlm.log", "events": state + "/credssp-refuse-ntlm.events.jsonl"},
    ],
    "ca": "$LOOP_STATE/certs/ca.pem",
    "display": "$DISPLAY_NUM",
}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(out + ".tmp", out)
PY

started_ok=1
echo "kerberos/start.sh: Kerberos lab up: realm $REALM (Samba KDC $DC), session host $HOST:$PORT_NORMAL,$PORT_NO_NTLM, namespaces $NS_CLIENT $NS_VPN $NS_ROUTER $NS_SRV; see ${STATE#"$ROOT"/}/kerberos.json"

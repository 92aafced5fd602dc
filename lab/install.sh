#!/usr/bin/env bash
# Install everything the rdpdoctor lab (lab/start.sh) and benchmark (bench/vs-nmap.sh) need.
# Debian 12 (bookworm), run as root. Fast no-op when everything is already installed.
set -euo pipefail

PACKAGES=(
  xrdp                # real RDP server (0.9.21 on bookworm), many instances on 127.0.0.1
  freerdp2-shadow-x11 # freerdp-shadow-cli: NLA (CredSSP) and Standard-RDP-Security server
  freerdp2-x11        # xfreerdp: the independent client that checks the stand-ins (OBSERVED.md)
  rdesktop            # rdesktop 1.9 (GnuTLS, Kerberos-only CredSSP): the rdesktop client profile is held against it
  winpr-utils         # winpr-hash: builds the SAM file for freerdp-shadow-cli /sam:
  xvfb                # headless X display for freerdp-shadow-cli
  openssl             # lab CA and server certificates
  python3             # standin.py, observe.py, bench timing
  python3-venv        # the venv pyrdp-mitm (PyPI) is installed into (lab/intercept.sh)
  nmap                # benchmark peer (rdp-enum-encryption, rdp-ntlm-info)
  prometheus          # promtool: checks the exporter output, scrape config and alert rules
  iproute2            # ss (port checks); ip netns / veth for the path lab (lab/path/)
  nftables            # path lab: the router namespace's firewall middleboxes (drop, reject, TLS reset, MTU)
  haproxy             # path lab: a healthy TCP load balancer; lab/route.sh: an idle-timeout load balancer in front of the NLA server
  dnsmasq-base        # path lab: the client namespace's resolver (the binary only, no service)
  procps              # ps (process checks)
  samba-ad-dc         # Kerberos lab (lab/kerberos/): Samba 4.17 as an AD DC, the real KDC, DNS (SRV records), samba-tool spn
  samba-ad-provision  # Kerberos lab: the AD schema files samba-tool domain provision needs (only recommended by samba-ad-dc)
  krb5-user           # Kerberos lab: kinit, kvno, klist, kdestroy, the real Kerberos clients that prove it
  python3-gssapi      # Kerberos lab: the GSSAPI binding the CredSSP stand-in's pyspnego uses for Kerberos (its venv sees system packages)
  libkrb5-dev         # Kerberos lab: krb5-config and headers, to build the stand-in venv's krb5 binding (PyPI ships no Linux wheel)
  rdesktop            # Kerberos lab: rdesktop 1.9, a CredSSP client that speaks Kerberos only (through GSSAPI)
  faketime            # Kerberos lab: a client whose clock is skewed against the KDC (KRB_AP_ERR_SKEW)
  python3-kdcproxy    # Kerberos lab: FreeIPA's KDC proxy (MS-KKDCP), the real KKDCP server rdpdoctor's --kdc-proxy is tested against
  gunicorn            # Kerberos lab: the WSGI server (with TLS) the KDC proxy runs in (no service: the binary only)
  krb5-k5tls          # Kerberos lab: MIT's TLS module, so kinit can reach the realm through the KDC proxy (the real client that proves it)
  tshark              # UDP responder (lab/udp_responder.py): Wireshark's rdpudp dissector checks what it sends; it also decodes what the gateway and broker stand-ins send (lab/OBSERVED.md)
  util-linux          # unshare, nsenter: broker-unreachable's own network namespace (lab/gateway.sh)
  ca-certificates
)

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# install_venv WHAT VENV REQUIREMENTS VENV_OPTION CHECK...: PyPI packages pinned in REQUIREMENTS in
# a venv of their own (VENV_OPTION: "" or --system-site-packages), rebuilt only when REQUIREMENTS
# changed; the command CHECK... proves the install. Runs after the Debian packages (python3-venv).
install_venv() {
  local what=$1 venv=$2 req=$3 option=$4
  shift 4
  local stamp="$venv/.rdpdoctor-requirements"
  if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
    echo "install.sh: $what already installed in $venv"
    return 0
  fi
  echo "install.sh: installing $what into $venv"
  rm -rf "$venv"
  /usr/bin/python3 -m venv ${option:+"$option"} "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$req"
  "$@" >/dev/null
  cp "$req" "$stamp"
}
# pyrdp-mitm (PyPI, pinned in lab/pyrdp-requirements.txt), the lab's real RDP interceptor.
PYRDP_VENV=${RDPDOCTOR_LAB_PYRDP_VENV:-/opt/rdpdoctor-lab/pyrdp-venv}
install_pyrdp() {
  install_venv pyrdp-mitm "$PYRDP_VENV" "$LAB_DIR/pyrdp-requirements.txt" "" \
    "$PYRDP_VENV/bin/pyrdp-mitm" --help
}
# The Kerberos CredSSP stand-in (lab/kerberos/credssp_host.py): pyspnego (PyPI, pinned in
# lab/kerberos/requirements.txt) in a venv that also sees Debian's python3-gssapi.
KERBEROS_VENV=${RDPDOCTOR_LAB_KERBEROS_VENV:-/opt/rdpdoctor-lab/kerberos-venv}
install_kerberos_venv() {
  install_venv "the Kerberos stand-in's pyspnego" "$KERBEROS_VENV" "$LAB_DIR/kerberos/requirements.txt" \
    --system-site-packages "$KERBEROS_VENV/bin/python" -c 'import gssapi, krb5, spnego'
}

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg -s succeeds for removed-but-not-purged packages too, so check the status line.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install.sh: all lab packages already installed"
  install_pyrdp
  install_kerberos_venv
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: missing packages (${missing[*]}) and not root; run as root" >&2
  exit 1
fi

echo "install.sh: installing: ${missing[*]}"

# Keep the packaged xrdp / xrdp-sesman / haproxy services from starting during installation:
# invoke-rc.d / deb-systemd-invoke consult /usr/sbin/policy-rc.d, and exit code 101 means
# "action forbidden". An existing policy-rc.d (Docker images ship one) is set aside and put back.
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP="$POLICY.rdpdoctor-lab-backup"
[ ! -e "$POLICY_BACKUP" ] || { echo "install.sh: $POLICY_BACKUP exists (interrupted earlier run?); restore it to $POLICY by hand" >&2; exit 1; }
had_policy=0
cleanup() {
  rm -f "$POLICY"
  if [ "$had_policy" -eq 1 ]; then
    mv -f "$POLICY_BACKUP" "$POLICY"
  fi
}
if [ -e "$POLICY" ]; then
  mv "$POLICY" "$POLICY_BACKUP"
  had_policy=1
fi
trap cleanup EXIT
printf '#!/bin/sh\n# temporary, written by rdpdoctor lab/install.sh\nexit 101\n' >"$POLICY"
chmod 0755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists if they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -q
fi
# tshark asks whether non-root users may capture; the default answer (no) is what the lab wants.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"

# Belt and braces: if some init system started the packaged daemons anyway, report it loudly
# (we never stop processes we did not start).
if [ -e /var/run/xrdp/xrdp.pid ] || [ -e /run/xrdp/xrdp.pid ]; then
  echo "install.sh: WARNING: a system xrdp pid file exists (/run/xrdp/xrdp.pid); the packaged service may be running" >&2
fi
install_pyrdp
install_kerberos_venv
echo "install.sh: done"

#!/usr/bin/env bash
# Runs a command (the offline test suite, in test.sh) as if the checkout stood alone: in a
# private mount namespace, the directory that holds the checkout is replaced by an empty tmpfs
# and only the checkout itself is mounted back at its own path. A test that reads anything beside
# the checkout (../shared, a sibling worktree, ../../something) then fails here exactly as it
# would in a user's fresh clone, instead of passing on a machine that happens to have it.
#
#   scripts/alone.sh cargo test --workspace
#
# The Rust toolchain stays visible when it lives under the hidden directory too (CARGO_HOME,
# RUSTUP_HOME, e.g. a checkout in $HOME). The tmpfs is writable, so tests that write to the
# temporary directory still can when it is the hidden one (a checkout in /tmp). Needs root (or
# CAP_SYS_ADMIN) for the mount namespace, like the path lab; it fails, never skips, without it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PARENT=$(dirname "$ROOT")
die() {
  echo "alone.sh: ERROR: $*" >&2
  exit 1
}
[ "$#" -gt 0 ] || die "usage: scripts/alone.sh COMMAND [ARG...]"
[ "$PARENT" != / ] || die "the checkout $ROOT sits at the root of the file system: there is no directory beside it to hide"
unshare --mount --propagation private true 2>/dev/null \
  || die "cannot make a private mount namespace (unshare --mount needs root or CAP_SYS_ADMIN); run as root, as CI does"

# Directories under PARENT that must stay: the checkout, and the toolchain if it lives there.
keep=("$ROOT")
for d in "${CARGO_HOME:-$HOME/.cargo}" "${RUSTUP_HOME:-$HOME/.rustup}"; do
  [ -d "$d" ] || continue
  d=$(cd "$d" && pwd -P)
  case "$d/" in "$PARENT"/*) [ "$d" = "$ROOT" ] || keep+=("$d") ;; esac
done

# Inside the namespace: hold each kept directory open (fd), cover PARENT with a tmpfs, then bind
# each one back from its descriptor (the old path is hidden by then; the open directory is not).
exec unshare --mount --propagation private -- /bin/bash -c '
  set -euo pipefail
  parent=$1
  shift
  n=$1
  shift
  dirs=("${@:1:$n}")
  shift "$n"
  fds=()
  for d in "${dirs[@]}"; do
    exec {fd}<"$d"
    fds+=("$fd")
  done
  mount -t tmpfs -o mode=0755,size=512m rdpdoctor-alone "$parent"
  for i in "${!dirs[@]}"; do
    mkdir -p "${dirs[$i]}"
    # --no-canonicalize: mount(8) would otherwise resolve the descriptor to its old path,
    # which now names the empty tmpfs.
    mount --no-canonicalize --bind "/proc/self/fd/${fds[$i]}" "${dirs[$i]}"
    eval "exec ${fds[$i]}<&-"
  done
  cd "${dirs[0]}"
  # A last check that the hiding worked: nothing but the kept directories is left beside.
  left=$(find "$parent" -mindepth 1 -maxdepth 1 | wc -l)
  [ "$left" -le "${#dirs[@]}" ] || { echo "alone.sh: ERROR: $parent still shows other entries" >&2; exit 1; }
  exec "$@"
' alone "$PARENT" "${#keep[@]}" "${keep[@]}" "$@"

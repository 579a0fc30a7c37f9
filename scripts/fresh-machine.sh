#!/usr/bin/env bash
# The README's promise, tried as a new user would: a clean Debian 12 (bookworm) with only
# build-essential, cmake, git and python3, a fresh clone of this repository's HEAD without
# ../shared beside it, then `make test` and `make demo` as root, nothing installed by hand.
#
# It builds that system with debootstrap in a folder (ROOT, default /var/tmp/trig-fresh), so it
# needs root and Debian's package mirror; it takes a while (the system, then every package of
# scripts/install-deps.sh, then the two builds): it is not part of `make test`.
#
# usage: scripts/fresh-machine.sh [ROOT]     (an existing ROOT is reused: delete it to start over)
# exit: that of `make test && make demo` inside the fresh system.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-/var/tmp/trig-fresh}"
mirror="${TRIG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: run as root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-machine: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }

if [ ! -x "$root/usr/bin/cmake" ]; then
  echo "fresh-machine: debootstrap bookworm into $root"
  debootstrap --variant=minbase --include=build-essential,cmake,git,python3,ca-certificates \
    bookworm "$root" "$mirror"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"

# A fresh clone of HEAD (committed work only), with no shared/ folder beside it.
rm -rf "$root/root/work"
mkdir -p "$root/root/work"
git clone -q "$repo" "$root/root/work/trig"

cleanup() { umount "$root/proc" "$root/dev" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

start=$(date +%s)
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
  bash -c 'cd /root/work/trig && make test && make demo'
echo "fresh-machine: make test and make demo passed in $(( $(date +%s) - start )) s"

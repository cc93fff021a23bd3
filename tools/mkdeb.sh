#!/bin/sh
# Builds the Debian package from a configured, built tree: the binary
# (stripped), a man page for the program and one per command group (made
# from its --help texts), bash completion, the systemd unit for serve with
# the maintainer scripts that make its user, and the shared-library
# dependencies dpkg-shlibdeps computes.
#   usage: tools/mkdeb.sh BUILD_DIR OUT_DIR      (make deb)
# Writes OUT_DIR/tapevault_VERSION_ARCH.deb and prints its path.
set -eu
B=$1
OUT=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$B/tapevault
[ -x "$T" ] || { echo "mkdeb: no built binary at $T (run make build first)" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps fakeroot; do
	command -v "$tool" >/dev/null || { echo "mkdeb: $tool is missing (apt-get install dpkg-dev fakeroot)" >&2; exit 1; }
done
VERSION=$("$T" --version | sed -n '1s/^tapevault //p')
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || { echo "mkdeb: cannot read the version from $T --version" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root

DESTDIR=$root cmake --install "$B" --prefix /usr --strip >/dev/null
man1=$root/usr/share/man/man1
# one page per command group: the first words that more than one command shares
HOME=$stage TAPEVAULT_HOME=$stage/home "$T" help | sed -n '/Commands:$/,/^State:/p' |
	sed -nE 's/^  ([a-z]+) [a-z].*/\1/p' | sort | uniq -d >"$stage/groups"
while IFS= read -r g; do
	sh "$SRC/tools/mkman.sh" "$T" "$VERSION" "$man1/tapevault-$g.1" "$g"
done <"$stage/groups"
gzip -9n "$man1"/*.1

install -D -m 0644 "$SRC/tools/tapevault.bash-completion" \
	"$root/usr/share/bash-completion/completions/tapevault"

# the service (serve) as its own user; the maintainer scripts make the user
install -D -m 0644 "$SRC/tools/tapevault.service" "$root/lib/systemd/system/tapevault.service"

doc=$root/usr/share/doc/tapevault
install -d "$doc"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tapevault
Source: the tapevault source distribution

Files: *
Copyright: 2026 the tapevault developers
License: unspecified
 The project has not chosen a license yet; until it does, this package is
 for evaluation inside the project.
EOF
date=$(date -R -d "@$(stat -c %Y "$T")")
printf 'tapevault (%s) unstable; urgency=medium\n\n  * Built from the tapevault source tree.\n\n -- tapevault developers <devel@tapevault.org>  %s\n' \
	"$VERSION" "$date" | gzip -9n >"$doc/changelog.gz"

# dependencies: what the binary links, as dpkg-shlibdeps maps it to packages
mkdir -p "$stage/src/debian"
printf 'Source: tapevault\n\nPackage: tapevault\nArchitecture: any\n' >"$stage/src/debian/control"
deps=$(cd "$stage/src" && dpkg-shlibdeps -O "$root/usr/bin/tapevault" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: tapevault
Version: $VERSION
Architecture: $ARCH
Maintainer: tapevault developers <devel@tapevault.org>
Installed-Size: $size
Depends: adduser, $deps
Section: admin
Priority: optional
Description: tape backup with per-tape keys in a KMS, passwords or escrow
 tapevault writes backups to tapes of encrypted media pools. Each tape
 carries its own wrapped data key (KMIP key server, password and escrow
 slots) and its own catalog, so a fresh installation catalogs a box of
 tapes and decrypts them, automatically when the key server is reachable.
EOF
for script in postinst prerm postrm; do
	install -m 0755 "$SRC/tools/deb-$script" "$root/DEBIAN/$script"
done
(cd "$root" && find usr lib -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root/usr" "$root/lib" -type d -exec chmod 0755 {} +
mkdir -p "$OUT"
deb=$OUT/tapevault_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"

#!/bin/sh
# Installs the Debian packages tapevault needs to build and test, when they
# are missing and we are root.  Non-root users get the apt-get line to run.
PKGS="cmake gcc clang make pkg-config libssl-dev libsqlite3-dev libarchive-dev
libjansson-dev libcmocka-dev libargon2-dev python3-pykmip sqlite3 xxd openssl
libclang-rt-14-dev valgrind time procps libzstd-dev zstd libxxhash-dev attr acl
dpkg-dev fakeroot lintian man-db libmicrohttpd-dev curl chromium adduser systemd util-linux
libpq-dev postgresql"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The browser test drives chromium with puppeteer-core from npm: Debian's
# nodejs and npm, unless a node with npm is there (NodeSource's bundles it).
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tapevault: missing packages:$missing" >&2
	echo "run as root: apt-get install$missing" >&2
	exit 1
fi
echo "tapevault: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/usr/bin/env bash
# The Debian package (make deb, tools/mkdeb.sh): what it holds, the
# dependencies dpkg computes, lintian without errors, and the packaged
# binary and man pages work when unpacked.  Release builds only: the
# sanitizer build's binary is not what a package ships.
. "$(dirname "$0")/lib.sh"
if [ "${TV_SANITIZED:-0}" = 1 ]; then
	echo "ok - skipped under the sanitizers (the package is a release build)"
	finish; exit
fi
B=$(dirname "$T")
deb=$(sh "$TV_SOURCE_DIR/tools/mkdeb.sh" "$B" "$WORK/out" 2>"$WORK/e"); RC=$?; ERR=$(cat "$WORK/e")
expect_rc 0 "mkdeb builds the package"
check "named tapevault_VERSION_ARCH.deb" test -f "$deb" -a "$(basename "$deb")" = "tapevault_$("$T" --version | sed -n '1s/^tapevault //p')_$(dpkg --print-architecture).deb"
OUT=$(dpkg-deb -f "$deb" Depends)
expect_out "libssl3" "depends on OpenSSL 3 (computed by dpkg-shlibdeps)"
expect_out "libsqlite3-0" "depends on SQLite"
expect_out "libzstd1" "depends on zstd"
OUT=$(dpkg-deb -c "$deb")
expect_out "\./usr/bin/tapevault$" "holds the binary"
expect_out "usr/share/man/man1/tapevault\.1\.gz" "holds the program's man page"
for g in tape pool library kms escrow; do
	expect_out "usr/share/man/man1/tapevault-$g\.1\.gz" "holds the $g group's man page"
done
expect_out "usr/share/bash-completion/completions/tapevault" "holds the bash completion"
expect_out "usr/share/doc/tapevault/copyright" "holds its copyright file"
dpkg-deb -x "$deb" "$WORK/x"
OUT=$("$WORK/x/usr/bin/tapevault" --version 2>&1); RC=$?
expect_rc 0 "the packaged binary runs"
expect_out "tape format: writes version 2" "and says its version and format"
check "the packaged binary is stripped" sh -c "! file '$WORK/x/usr/bin/tapevault' | grep -q 'not stripped'"
if command -v man >/dev/null; then
	OUT=$(MANWIDTH=100 man -l "$WORK/x/usr/share/man/man1/tapevault-tape.1.gz" 2>&1)
	expect_out "TAPEVAULT-TAPE\(1\)" "man tapevault-tape renders"
	expect_out "tape new LIBRARY BARCODE" "with the usage of its commands"
fi
# the completion offers the program's own commands
OUT=$(PATH="$WORK/x/usr/bin:$PATH" bash -c '. "$1"; COMP_WORDS=(tapevault tape ""); COMP_CWORD=2; _tapevault; echo "${COMPREPLY[*]}"' _ "$WORK/x/usr/share/bash-completion/completions/tapevault")
expect_out "(^| )new( |$)" "completion offers 'tape new'"
expect_out "(^| )load( |$)" "and 'tape load'"
if command -v lintian >/dev/null; then
	OUT=$(lintian "$deb" 2>/dev/null); RC=$?
	check "lintian finds no error or warning" sh -c "! printf '%s\n' \"\$1\" | grep -E '^[EW]: '" _ "$OUT"
fi
# a fresh install, in a throwaway root: an overlay over / in a private
# mount namespace, so dpkg, the new user and /var/lib/tapevault vanish
# with it (tests/cli/deb_inside.sh runs inside)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v setpriv >/dev/null; then
	OUT=$(unshare -m sh -c '
		set -e
		t=$1; mount -t tmpfs tmpfs "$t"; mkdir "$t/up" "$t/work" "$t/root"
		mount -t overlay overlay -o "lowerdir=/,upperdir=$t/up,workdir=$t/work" "$t/root"
		R=$t/root
		mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"
		mount -t tmpfs tmpfs "$R/tmp"; mount -t tmpfs tmpfs "$R/run"; mount -t tmpfs tmpfs "$R/srv"
		cp "$2" "$3" "$R/tmp/"
		chroot "$R" sh /tmp/deb_inside.sh "/tmp/$(basename "$2")"
	' _ "$(mkdir -p "$WORK/ov" && echo "$WORK/ov")" "$deb" "$TV_SOURCE_DIR/tests/cli/deb_inside.sh" 2>&1)
	RC=$?
	expect_rc 0 "the throwaway root for a fresh install"
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "fresh install: ${line#ok - }" ;;
		"not ok - "*) OUT=$line; fail "fresh install: ${line#not ok - }" ;;
		"  "*) echo "$line" ;;
		esac
	done <<EOT
$OUT
EOT
	check "fresh install: every check ran" test "$(printf '%s\n' "$OUT" | grep -c '^ok - ')" -ge 25
else
	echo "ok - skipped the fresh install: needs root, unshare and setpriv"
fi
finish

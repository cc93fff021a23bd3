#!/usr/bin/env bash
# make install: the binary and a man page generated from its help texts.
. "$(dirname "$0")/lib.sh"
: "${TV_BUILD_DIR:?ctest sets TV_BUILD_DIR}"
cmake --install "$TV_BUILD_DIR" --prefix "$WORK/p" >"$WORK/o" 2>"$WORK/e"; RC=$?; ERR=$(cat "$WORK/e")
expect_rc 0 "cmake --install into a prefix"
check "the binary is installed" test -x "$WORK/p/bin/tapevault"
check "the man page is installed" test -s "$WORK/p/share/man/man1/tapevault.1"
check "the installed binary runs" "$WORK/p/bin/tapevault" --help
ncmd=$("$T" help | sed -n '/Commands:$/,/^State:/p' | grep -c '^  [a-z]')
nsec=$(grep -c '^\.SS ' "$WORK/p/share/man/man1/tapevault.1")
check "one man page section per command ($nsec of $ncmd)" test "$ncmd" -gt 30 -a "$nsec" -eq "$ncmd"
check "each section holds the command's own --help text" \
	grep -q "job: write files and directories to the pool; prints the backup set id" \
	"$WORK/p/share/man/man1/tapevault.1"
check "no test hook in the installed binary" bash -c "! grep -q tv_faulty_wrap '$WORK/p/bin/tapevault'"
if command -v groff >/dev/null; then
	check "the page renders without warnings" bash -c \
		"groff -man -Tutf8 -ww -z '$WORK/p/share/man/man1/tapevault.1' 2>&1 | (! grep .)"
fi
finish

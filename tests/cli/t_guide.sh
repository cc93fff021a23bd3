#!/usr/bin/env bash
# The administrator's guide is tested: every runbook step of docs/GUIDE.md
# runs against this build (virtual tapes, a real PyKMIP server where the
# runbook needs one) and its output must show what the guide says.
# Needs root: each command runs in its own mount namespace (unshare -m) so
# the guide's real paths (/srv, /etc/tapevault, /var/lib/tapevault) are the
# sandbox's.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	fail "the guide's runbooks need root and unshare (mount namespaces): run make check as root"
	finish; exit
fi
OUT=$(python3 "$TV_SOURCE_DIR/tests/guide/run_guide.py" "$TV_SOURCE_DIR/docs/GUIDE.md" \
	"$(dirname "$T")" "$TV_SOURCE_DIR" 2>&1); RC=$?
printf '%s\n' "$OUT" | grep -v '^ok - '
expect_rc 0 "every runbook of docs/GUIDE.md runs as the guide says"
n=$(printf '%s\n' "$OUT" | grep -c '^ok - ')
check "the guide's commands ran ($n)" test "$n" -ge 80
finish

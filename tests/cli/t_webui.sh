#!/usr/bin/env bash
# Issue 13 "must show": the seed's decrypt flow in the web console, in
# headless chromium (Debian's) driven by puppeteer-core (npm, pinned in
# tests/web/package-lock.json): a fresh installation has cataloged an
# encrypted password tape; the operator logs in, sees the tape with its
# locked icon, selects it, "Specify password", sees the hint, enters the
# password, OK; the tape unlocks; the set restores from the console.
# Screenshots go to BUILD/web-shots (TV_UPDATE_SCREENSHOTS=1: into docs/), among
# them web-job-running.png: a restore running, its progress bar part-way.
# Without chromium, node or npm this test FAILS: tools/install-deps.sh.
. "$(dirname "$0")/lib.sh"
. "$TV_SOURCE_DIR/tests/web/lib_web.sh"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=""
[ -x "$CHROMIUM" ] || missing="$missing chromium"
command -v node >/dev/null || missing="$missing nodejs"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
	fail "the browser test needs:$missing (run tools/install-deps.sh as root)"
	finish; exit 1
fi
# puppeteer-core from npm, once per build directory (no browser download)
NODE_DIR=${TV_BUILD_DIR:-$WORK}/web-test
if ! cmp -s "$TV_SOURCE_DIR/tests/web/package-lock.json" "$NODE_DIR/package-lock.json" ||
   [ ! -f "$NODE_DIR/node_modules/puppeteer-core/package.json" ]; then
	mkdir -p "$NODE_DIR"
	cp "$TV_SOURCE_DIR/tests/web/package.json" "$TV_SOURCE_DIR/tests/web/package-lock.json" "$NODE_DIR/"
	(cd "$NODE_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund >npm.log 2>&1) ||
		{ fail "npm ci puppeteer-core (see $NODE_DIR/npm.log)"; finish; exit 1; }
fi
WEB_FIXTURE_BULK=1 web_fixture || { fail "fixture"; finish; exit 1; }
# tapevault-test, whose test hook makes each progress report of a job wait
# 80 ms: the restore of the "bulk" set lasts seconds, long enough to watch
export TAPEVAULT_TEST_WEB_SLOW=80
WEB_BIN=$TAPEVAULT_TEST web_start S "$B" || { fail "serve starts"; finish; exit 1; }
SHOTS=${TV_BUILD_DIR:-$WORK}/web-shots   # kept after the test: the build directory
[ "${TV_UPDATE_SCREENSHOTS:-0}" = 1 ] && SHOTS=$TV_SOURCE_DIR/docs
mkdir -p "$SHOTS"
NODE_PATH=$NODE_DIR/node_modules CHROMIUM=$CHROMIUM timeout 300 node "$TV_SOURCE_DIR/tests/web/console.test.js" \
	"$S_URL" op "$WORK/pw-op" "$WORK/pw-tape" "$WEB_HINT" "$SHOTS" "$WORK/restored" \
	"$WORK/picked" "$WORK/bulk-restored" boss "$WORK/pw-boss" > "$WORK/browser.out" 2>&1
rc=$?
cat "$WORK/browser.out"
PASSES=$((PASSES + $(grep -c '^ok - ' "$WORK/browser.out")))
FAILS=$((FAILS + $(grep -c '^not ok - ' "$WORK/browser.out")))
[ "$rc" -eq 0 ] && pass "the browser test ran to its end" || fail "the browser test (exit $rc)"
check "the console's restore is byte-exact" same_tree src "$WORK/restored/$S/src"
check "the file picker restored the file chosen" cmp src/docs/report.txt "$WORK/picked/$S/src/docs/report.txt"
check "... and nothing else of the set" bash -c "[ ! -e '$WORK/picked/$S/src/docs/data.bin' ]"
check "the watched restore is byte-exact" same_tree bulk "$WORK/bulk-restored/$S/bulk"
for f in web-inventory-locked web-decrypt-dialog web-jobs web-job-running web-file-picker web-audit; do
	check "screenshot $f.png" bash -c "head -c 8 '$SHOTS/$f.png' | grep -q PNG"
done
tv "$B" --json tape list; expect_out '"locked": false' "the catalog has the tape unlocked"
check "no password in the server's log" bash -c "! grep -qF -e '$WEB_TAPE_PW' -e 'operator secret' -e 'admin secret' -e 'clerk pass' '$WORK/S.log'"
kill "$S_PID"; wait "$S_PID" 2>/dev/null
check "no sanitizer report in the server's log (ASan build: leaks at exit too)" bash -c \
	"! grep -E 'Sanitizer|runtime error' '$WORK/S.log'"
tv "$B" audit; expect_out "web user add .*'clerk'" "the user added in the console is audited"
check "... without its password" bash -c "! '$T' --home '$B' audit | grep -qF 'clerk pass'"
finish

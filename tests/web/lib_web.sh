# tapevault web test helpers (source after tests/cli/lib.sh).
#
# web_fixture: home $A writes an encrypted password tape (pool "vault",
# password "p1" with a hint), exports it; a fresh installation $B inserts
# and catalogs it (locked) and gets console users: op (operator),
# view (viewer), boss (admin), with passwords in $WORK/pw-*.
WEB_TAPE_PW="tape pass 7Qz"
WEB_HINT="the usual, with 7Qz"
web_fixture() {
	A=$WORK/a; B=$WORK/b
	new_home a lib 10 || return 1
	new_home b lib 10 || return 1
	secret pw-tape "$WEB_TAPE_PW"
	secret pw-op "operator secret 3Kd"; secret pw-view "viewer secret 9Lm"
	secret pw-boss "admin secret 5Rt"
	"$T" --home "$A" -q password add p1 --hint "$WEB_HINT" --password-file pw-tape || return 1
	"$T" --home "$A" -q tape new lib VT0001L9 --capacity 64M || return 1
	"$T" --home "$A" -q pool create vault --library lib --encryption password:p1 2>/dev/null || return 1
	mkdir -p src/docs
	echo "report for the web test" > src/docs/report.txt
	head -c 200000 /dev/urandom > src/docs/data.bin
	"$T" --home "$A" -q write vault src --name nightly >/dev/null || return 1
	if [ "${WEB_FIXTURE_BULK:-0}" = 1 ]; then   # a set with many files: a job to watch
		mkdir -p bulk/files
		for i in $(seq 1 60); do head -c 65536 /dev/urandom > "bulk/files/f$i.bin"; done
		"$T" --home "$A" -q write vault bulk --name bulk >/dev/null || return 1
	fi
	"$T" --home "$A" -q tape export VT0001L9 --to "$WORK/box" || return 1
	"$T" --home "$B" -q tape insert lib "$WORK/box/VT0001L9.tap" 2>/dev/null || return 1
	# the fresh installation trusts the writer's identity (tapes are signed)
	"$T" --home "$A" -q identity export --out "$WORK/a-identity.pub" >/dev/null 2>&1 &&
		"$T" --home "$B" -q identity trust "$WORK/a-identity.pub" >/dev/null 2>&1
	"$T" --home "$B" -q catalog lib >/dev/null 2>&1
	"$T" --home "$B" -q user add op --role operator --password-file pw-op || return 1
	"$T" --home "$B" -q user add view --role viewer --password-file pw-view || return 1
	"$T" --home "$B" -q user add boss --role admin --password-file pw-boss || return 1
}

# web_start NAME HOME [serve options...]: starts tapevault serve (or $WEB_BIN) on a free
# loopback port; sets ${NAME}_PID, ${NAME}_URL; its stderr in $WORK/NAME.log.
web_start() {
	local name=$1 home=$2; shift 2
	local pf=$WORK/$name.port
	rm -f "$pf"
	"${WEB_BIN:-$T}" --home "$home" serve --listen 127.0.0.1:0 --port-file "$pf" "$@" \
		2>"$WORK/$name.log" &
	local pid=$!
	eval "${name}_PID=$pid"
	cleanup_hooks+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null")
	for _ in $(seq 1 100); do
		[ -s "$pf" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$pf" ] || { cat "$WORK/$name.log"; return 1; }
	local scheme=https
	case " $* " in *" --insecure-http "*) scheme=http ;; esac
	eval "${name}_URL=$scheme://127.0.0.1:$(cat "$pf")"
}

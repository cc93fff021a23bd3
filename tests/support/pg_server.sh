#!/bin/sh
# A throwaway PostgreSQL server for the test suite (Debian's postgresql):
#   pg_server.sh start DIR   initdb in DIR/data as an unprivileged user,
#                            listen only on a Unix socket in DIR
#   pg_server.sh stop DIR    stop it and remove DIR
# initdb refuses root: as root it runs as the 'postgres' user the package
# made (else as whoever runs it).  Clients connect with
#   postgresql:///DB?host=DIR&user=postgres
set -eu
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "pg_server: no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 1; }
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() {
	[ -d "$dir/data" ] && as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
case $cmd in
start)
	stop   # what an interrupted run left
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-k $dir -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "PostgreSQL $("$bin/postgres" --version | sed 's/.* //') on $dir"
	;;
stop)
	stop
	;;
*)
	echo "usage: pg_server.sh start|stop DIR" >&2; exit 2
	;;
esac

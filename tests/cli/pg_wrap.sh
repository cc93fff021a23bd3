#!/bin/sh
# The CLI suite's PostgreSQL run (ctest cli-pg/): TAPEVAULT points here.
# Every 'init' without --catalog gets a PostgreSQL database of its own on
# the suite's server, so each home stays its own installation (as in the
# SQLite run: a fresh home is a fresh catalog); everything else goes to
# the real binary unchanged.
is_init= has=
for a; do
	case $a in
	init) is_init=1 ;;
	--catalog|--catalog=*) has=1 ;;
	esac
done
if [ -n "$is_init" ] && [ -z "$has" ]; then
	db=tv_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	psql -q -h "$TV_PG_HOST" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null || exit 1
	exec "$TV_REAL_TAPEVAULT" "$@" --catalog "postgresql:///$db?host=$TV_PG_HOST&user=postgres"
fi
exec "$TV_REAL_TAPEVAULT" "$@"

#!/bin/bash
# Start / stop a real PyKMIP server for tests, with its own certificates.
#
#   pykmip-server.sh start DIR [PORT]   make certificates (once) and start a
#                                       server on 127.0.0.1:PORT (a free random
#                                       port if none); prints KEY=VALUE lines
#                                       (also written to DIR/env)
#   pykmip-server.sh stop DIR           SIGINT the server, wait up to
#                                       KMS_STOP_GRACE s (4), then SIGKILL its
#                                       process group
#   pykmip-server.sh status DIR         exit 0 if it runs
#
# Files in DIR: ca.pem (test CA), server.pem/.key (CN 127.0.0.1, SAN IP
# 127.0.0.1 + DNS localhost, serverAuth), client.pem/.key (CN = client name,
# clientAuth), other-ca.pem + other-client.pem/.key (an unrelated CA and a
# client certificate it signed, for negative tests), wronghost.pem/.key (a
# server certificate of the test CA naming only DNS:wrong.example, for
# hostname verification tests), server.conf, server.log, pykmip.db,
# server.pid, env.
#
# Environment:
#   KMS_CLIENT_NAME   CN of the client certificate (default tapevault-test);
#                     PyKMIP makes it the owner of the keys it creates
#   KMS_WATCH_PID     stop the server when this process exits (tests pass
#                     their own pid, so a crashed test leaves no server)
#   KMS_DEBUG=1       logging_level=DEBUG (logs key material: tests only)
#   KMS_EXTENDED=1    run tests/kms/pykmip-rsa-server.py instead of the stock
#                     server: PyKMIP extended with RSA-OAEP Decrypt, KMIP 1.4
#                     Cryptographic Parameters and Link attributes; DIR/harness.json
#                     switches its test modes (see that script)
#
# Exit status: 0 ok, 1 failure, 3 python3-pykmip or openssl not installed.
set -u

PY=/usr/bin/python3            # Debian's interpreter: the one with python3-pykmip
SERVER=/usr/bin/pykmip-server
HERE=$(cd "$(dirname "$0")" && pwd)
HOST=127.0.0.1

die() { echo "pykmip-server.sh: $*" >&2; exit 1; }

usage() {
	echo "usage: $0 start DIR [PORT] | stop DIR | status DIR" >&2
	exit 2
}

need_tools() {
	command -v openssl >/dev/null 2>&1 || { echo "pykmip-server.sh: openssl CLI not installed" >&2; exit 3; }
	if [ ! -x "$PY" ] || [ ! -e "$SERVER" ] || ! "$PY" -c 'import kmip' 2>/dev/null; then
		echo "pykmip-server.sh: python3-pykmip is not installed (apt-get install python3-pykmip)" >&2
		exit 3
	fi
}

# sign NAME CA_PREFIX SUBJECT_CN EXTFILE
sign() {
	local name=$1 ca=$2 cn=$3 ext=$4
	openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
		-subj "/CN=$cn" 2>/dev/null || return 1
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 825 -sha256 \
		-extfile "$ext" -out "$name.pem" 2>/dev/null || return 1
	rm -f "$name.csr"
	chmod 600 "$name.key"
}

make_ca() {
	local name=$1 cn=$2
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.pem" \
		-days 3650 -sha256 -subj "/CN=$cn" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	chmod 600 "$name.key"
}

make_certs() {
	local dir=$1 client=$2
	[ -s "$dir/client.pem" ] && [ -s "$dir/other-client.pem" ] &&
		[ -s "$dir/wronghost.pem" ] && return 0
	(
		cd "$dir" || exit 1
		cat > server.ext <<-EOF
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=serverAuth
			subjectAltName=IP:127.0.0.1,DNS:localhost
		EOF
		cat > wronghost.ext <<-EOF
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=serverAuth
			subjectAltName=DNS:wrong.example
		EOF
		cat > client.ext <<-EOF
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=clientAuth
		EOF
		make_ca ca "tapevault test KMS CA" &&
		sign server ca 127.0.0.1 server.ext &&
		sign wronghost ca wrong.example wronghost.ext &&
		sign client ca "$client" client.ext &&
		make_ca other-ca "unrelated test CA" &&
		sign other-client other-ca "$client" client.ext &&
		rm -f server.ext client.ext wronghost.ext
	) || die "certificate generation failed in $dir"
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

write_conf() {
	local dir=$1 port=$2 level=INFO
	[ "${KMS_DEBUG:-0}" = 1 ] && level=DEBUG
	mkdir -p "$dir/policies"
	cat > "$dir/server.conf" <<-EOF
		[server]
		hostname=$HOST
		port=$port
		certificate_path=$dir/server.pem
		key_path=$dir/server.key
		ca_path=$dir/ca.pem
		auth_suite=TLS1.2
		policy_path=$dir/policies
		enable_tls_client_auth=True
		tls_cipher_suites=TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 TLS_RSA_WITH_AES_128_CBC_SHA256 TLS_RSA_WITH_AES_256_CBC_SHA256
		logging_level=$level
		database_path=$dir/pykmip.db
	EOF
}

running() {
	local pid
	[ -s "$1/server.pid" ] || return 1
	pid=$(cat "$1/server.pid")
	kill -0 "$pid" 2>/dev/null
}

# try_start DIR PORT: 0 listening, 1 failed, 2 port taken (try another)
try_start() {
	local dir=$1 port=$2 pid
	write_conf "$dir" "$port"
	: > "$dir/server.log"
	# own process group: PyKMIP forks helper processes (policy monitor),
	# which must go away with it
	local prog=$SERVER
	[ "${KMS_EXTENDED:-0}" = 1 ] && prog=$HERE/pykmip-rsa-server.py
	KMS_HARNESS_DIR=$dir setsid "$PY" "$prog" -f "$dir/server.conf" -l "$dir/server.log" \
		</dev/null >"$dir/server.out" 2>&1 &
	pid=$!
	echo "$pid" > "$dir/server.pid"
	for _ in $(seq 1 150); do          # ~15 s
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			kill -KILL -- "-$pid" 2>/dev/null
			rm -f "$dir/server.pid"
			if grep -q -i "address already in use" "$dir/server.log" "$dir/server.out" 2>/dev/null; then
				return 2
			fi
			return 1
		fi
		if port_busy "$port"; then
			return 0
		fi
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	rm -f "$dir/server.pid"
	return 1
}

start() {
	local dir=$1 port=${2:-} client=${KMS_CLIENT_NAME:-tapevault-test} tries rc
	need_tools
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	if running "$dir"; then
		die "a server already runs for $dir (pid $(cat "$dir/server.pid"))"
	fi
	make_certs "$dir" "$client"
	tries=1
	[ -z "$port" ] && tries=8
	rc=1
	for _ in $(seq 1 $tries); do
		local p=$port
		if [ -z "$p" ]; then
			p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
			port_busy "$p" && continue
		fi
		try_start "$dir" "$p"
		rc=$?
		if [ $rc = 0 ]; then
			port=$p
			break
		fi
		[ $rc = 2 ] && [ -z "$port" ] && continue
		break
	done
	if [ $rc != 0 ]; then
		echo "pykmip-server.sh: PyKMIP server did not start; its log:" >&2
		cat "$dir/server.out" "$dir/server.log" >&2 2>/dev/null
		exit 1
	fi
	if [ -n "${KMS_WATCH_PID:-}" ]; then
		# watchdog: stop the server when the test process is gone
		local spid
		spid=$(cat "$dir/server.pid")
		(
			trap '' INT
			while kill -0 "$KMS_WATCH_PID" 2>/dev/null && kill -0 "$spid" 2>/dev/null; do
				sleep 1
			done
			kill -INT "$spid" 2>/dev/null
			sleep 5
			kill -KILL -- "-$spid" 2>/dev/null
		) </dev/null >/dev/null 2>&1 &
		echo $! > "$dir/watchdog.pid"
	fi
	{
		echo "KMS_DIR=$dir"
		echo "KMS_HOST=$HOST"
		echo "KMS_PORT=$port"
		echo "KMS_CA=$dir/ca.pem"
		echo "KMS_CERT=$dir/client.pem"
		echo "KMS_KEY=$dir/client.key"
		echo "KMS_OTHER_CA=$dir/other-ca.pem"
		echo "KMS_OTHER_CERT=$dir/other-client.pem"
		echo "KMS_OTHER_KEY=$dir/other-client.key"
		echo "KMS_SERVER_CERT=$dir/server.pem"
		echo "KMS_SERVER_KEY=$dir/server.key"
		echo "KMS_WRONGHOST_CERT=$dir/wronghost.pem"
		echo "KMS_WRONGHOST_KEY=$dir/wronghost.key"
		echo "KMS_CLIENT_NAME=$client"
		echo "KMS_PID=$(cat "$dir/server.pid")"
	} > "$dir/env"
	cat "$dir/env"
}

# PyKMIP's SIGINT handler joins every session thread with a 10 s timeout,
# so a client that keeps its connection open delays a clean stop by 10 s.
# After KMS_STOP_GRACE seconds (default 4) we SIGKILL: the test database is
# committed per operation, nothing is lost.
stop() {
	local dir=$1 pid grace=${KMS_STOP_GRACE:-4}
	[ -s "$dir/watchdog.pid" ] && kill "$(cat "$dir/watchdog.pid")" 2>/dev/null
	rm -f "$dir/watchdog.pid"
	[ -s "$dir/server.pid" ] || return 0
	pid=$(cat "$dir/server.pid")
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 1 $((grace * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# the leader is gone or hangs: end the whole group (helpers too)
	kill -KILL -- "-$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$dir/server.pid"
	return 0
}

[ $# -ge 2 ] || usage
case $1 in
start) [ $# -le 3 ] || usage; start "$2" "${3:-}" ;;
stop) stop "$2" ;;
status) running "$2" ;;
*) usage ;;
esac

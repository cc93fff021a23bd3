#!/bin/sh
# Runs inside the throwaway root t_deb.sh makes (an overlay over /, so
# nothing here touches the machine): installs the package as a fresh
# system would, then checks that the CLI run as root and the service's
# identity (the user and file capabilities of tools/tapevault.service,
# taken from the installed unit) share /var/lib/tapevault.  Prints one
# "ok -" or "not ok -" line per check.
set -u
deb=$1
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; }
chk() { d=$1; shift; if "$@" >/tmp/chk.out 2>&1; then ok "$d"; else no "$d"; sed 's/^/  /' /tmp/chk.out | head -20; fi; }

chk "dpkg -i installs the package" dpkg -i "$deb"
chk "the service's user exists" getent passwd tapevault
chk "and is in the tape group" sh -c 'id -nG tapevault | grep -qw tape'
chk "/var/lib/tapevault belongs to it, mode 0700" \
	sh -c '[ "$(stat -c %U:%a /var/lib/tapevault)" = tapevault:700 ]'
chk "tapevault --version runs from PATH" sh -c 'tapevault --version | grep -q "tape format"'
chk "man tapevault renders" sh -c 'MANWIDTH=100 man tapevault 2>/dev/null | grep -q "^NAME"'
unit=/lib/systemd/system/tapevault.service
chk "the unit is installed" test -f $unit
chk "systemd-analyze verify accepts the unit" sh -c \
	"systemd-analyze verify $unit 2>&1 | grep -v 'Command .*man' | (! grep .)"
chk "systemctl enable takes it (offline)" systemctl --root=/ enable tapevault
chk "and it is enabled" sh -c 'systemctl --root=/ is-enabled tapevault | grep -qx enabled'
rm -f /etc/systemd/system/multi-user.target.wants/tapevault.service

# the service's identity, from the unit itself
caps=$(sed -n 's/^AmbientCapabilities=//p' $unit | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
home=$(sed -n 's/^Environment=TAPEVAULT_HOME=//p' $unit)
as_service() {
	setpriv --reuid=tapevault --regid=tapevault --init-groups --inh-caps="$caps" \
		--ambient-caps="$caps" env TAPEVAULT_HOME="$home" "$@"
}
chk "the unit's state directory is root's default" test "$home" = /var/lib/tapevault

# root sets the server up, without --home
printf 'correct horse\n' >/root/pw; chmod 600 /root/pw
chk "root: init in /var/lib/tapevault" tapevault init
chk "root: a library" tapevault library create lib --path /srv/lib --slots 4
chk "root: blank tapes" tapevault tape new lib T00001L9 T00002L9
chk "root: a password" tapevault password add weekly --hint usual --password-file /root/pw
chk "root: a password pool" tapevault pool create p --library lib --encryption password:weekly
mkdir -p /root/data; printf 'only root reads this\n' >/root/data/secret; chmod 600 /root/data/secret
printf 'alice owns this\n' >/root/data/alice; chown 1234:1234 /root/data/alice
chmod 700 /root/data

# the service writes a root-only tree with the stored password (key store
# files root made), and restores owners
chk "service: write reads a root-only file" as_service tapevault write p /root/data --name svc
chk "root: sees the service's set in the shared catalog" sh -c 'tapevault backups | grep -q svc'
chk "service: restore" as_service tapevault restore svc --to /srv/r
chk "service: the restored file is right" cmp /root/data/secret /srv/r/root/data/secret
chk "service: owners come back (CAP_CHOWN)" sh -c '[ "$(stat -c %u /srv/r/root/data/alice)" = 1234 ]'
chk "root: writes again after the service did" tapevault write p /root/data --name root2
chk "service: reads root's newer set" as_service tapevault restore root2 --to /srv/r2
chk "root: restore of the service's set" tapevault restore svc --to /srv/r3
chk "the service has no other power of root's (mount refused)" sh -c \
	"! setpriv --reuid=tapevault --regid=tapevault --init-groups --inh-caps='$caps' \
	--ambient-caps='$caps' mount -t tmpfs x /mnt 2>/dev/null"

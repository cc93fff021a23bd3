#!/usr/bin/env bash
# Issue 16 "must show": everything a file system holds comes back.  One
# tree with hard links across directories, a 2 GiB sparse file with a few
# data bytes, xattrs, POSIX ACLs, a FIFO, device nodes, a file capability,
# files of a named user and of an id without a name, a socket: written,
# restored and compared (types, modes, owners, times, contents, xattrs,
# ACLs, link counts and shared inodes, holes).  Then: owners by name and
# --numeric-owner after the user's id changed, --no-xattrs on write and
# on restore, a sparse file split across tape files, an xattr list too
# big for its entry header (carried in the data) split across tape files,
# xattrs a file system refuses, a restore as an ordinary user (trusted.*,
# capabilities and devices refused, named), and a catalog rebuilt on a
# fresh installation restoring the same tree.
. "$(dirname "$0")/lib.sh"
H=$WORK/h
SRC=$WORK/src
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
for c in setfattr getfattr setfacl getfacl python3; do
	command -v "$c" >/dev/null || { fail "$c is missing: install the attr and acl packages (tools/install-deps.sh)"; finish; exit 1; }
done
# a restored source path: stored as its absolute path without the leading '/'
back() { echo "$2/${1#/}"; }

# compare A B [--no-xattrs-in-b] [--map-uid OLD:NEW] [--map-gid OLD:NEW] [--absent REL]...
# Every item of A (sockets excepted: they must be absent) is in B with the
# same type, mode, owner, mtime, size, device numbers, link target, content,
# xattrs (or none with --no-xattrs-in-b), and the same names share inodes.
compare() {
	python3 - "$@" <<'PY'
import hashlib, os, stat, sys
args = sys.argv[1:]
a, b = args[0], args[1]
noxb, umap, gmap, absent = False, {}, {}, set()
i = 2
while i < len(args):
    if args[i] == "--no-xattrs-in-b": noxb = True; i += 1; continue
    k, v = args[i], args[i + 1]; i += 2
    if k == "--absent": absent.add(v); continue
    o, n = (int(x) for x in v.split(":"))
    (umap if k == "--map-uid" else gmap)[o] = n
def items(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            out[os.path.relpath(p, root)] = p
    return out
def xattrs(p):
    try:
        return {n: os.getxattr(p, n, follow_symlinks=False) for n in os.listxattr(p, follow_symlinks=False)}
    except OSError:
        return {}
def digest(p, size):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            # holes read as zeros: skip them by SEEK_DATA so 2 GiB stays cheap
            try:
                pos = f.tell(); d = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:
                break
            if d > pos: h.update(b"hole %d %d" % (pos, d)); f.seek(d)
            chunk = f.read(1 << 20)
            if not chunk: break
            h.update(chunk)
    return h.hexdigest()
ia, ib = items(a), items(b)
bad = []
inodes_a, inodes_b = {}, {}
for rel, pa in sorted(ia.items()):
    sa = os.lstat(pa)
    if stat.S_ISSOCK(sa.st_mode) or rel in absent:
        if rel in ib: bad.append("%s: should not be restored" % rel)
        continue
    if rel not in ib: bad.append("%s: missing" % rel); continue
    pb = ib[rel]; sb = os.lstat(pb)
    if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode): bad.append("%s: type %o != %o" % (rel, stat.S_IFMT(sa.st_mode), stat.S_IFMT(sb.st_mode))); continue
    if not stat.S_ISLNK(sa.st_mode) and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode): bad.append("%s: mode %o != %o" % (rel, stat.S_IMODE(sa.st_mode), stat.S_IMODE(sb.st_mode)))
    if umap.get(sa.st_uid, sa.st_uid) != sb.st_uid or gmap.get(sa.st_gid, sa.st_gid) != sb.st_gid: bad.append("%s: owner %d:%d != %d:%d" % (rel, sa.st_uid, sa.st_gid, sb.st_uid, sb.st_gid))
    if sa.st_mtime_ns != sb.st_mtime_ns: bad.append("%s: mtime %d != %d" % (rel, sa.st_mtime_ns, sb.st_mtime_ns))
    if stat.S_ISLNK(sa.st_mode) and os.readlink(pa) != os.readlink(pb): bad.append("%s: link target" % rel)
    if stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
        if sa.st_rdev != sb.st_rdev: bad.append("%s: device %d != %d" % (rel, sa.st_rdev, sb.st_rdev))
    if stat.S_ISREG(sa.st_mode):
        if sa.st_size != sb.st_size: bad.append("%s: size %d != %d" % (rel, sa.st_size, sb.st_size))
        elif digest(pa, sa.st_size) != digest(pb, sb.st_size): bad.append("%s: content differs" % rel)
        inodes_a.setdefault(sa.st_ino, []).append(rel); inodes_b.setdefault(sb.st_ino, []).append(rel)
        if sa.st_nlink != sb.st_nlink: bad.append("%s: %d links != %d" % (rel, sa.st_nlink, sb.st_nlink))
    xa, xb = xattrs(pa), xattrs(pb)
    if noxb:
        if xb: bad.append("%s: xattrs %s restored with --no-xattrs" % (rel, sorted(xb)))
    elif xa != xb: bad.append("%s: xattrs %s != %s" % (rel, sorted(xa.items()), sorted(xb.items())))
groups = lambda m: sorted(sorted(v) for v in m.values())
if groups(inodes_a) != groups(inodes_b): bad.append("inode sharing: %s != %s" % (groups(inodes_a), groups(inodes_b)))
for rel in ib:
    if rel not in ia: bad.append("%s: restored but not in the source" % rel)
for x in bad[:20]: print("  " + x)
sys.exit(1 if bad else 0)
PY
}

# --- the tree
mkdir -p "$SRC/a/deep" "$SRC/b" "$SRC/c"
printf 'one file, three names\n' > "$SRC/a/deep/f"
ln "$SRC/a/deep/f" "$SRC/b/g"; ln "$SRC/a/deep/f" "$SRC/h"
truncate -s 2G "$SRC/sparse"
printf 'begin' | dd of="$SRC/sparse" conv=notrunc status=none
printf 'middle' | dd of="$SRC/sparse" bs=1 seek=1000000000 conv=notrunc status=none
printf 'end' | dd of="$SRC/sparse" bs=1 seek=$((2 * 1024 * 1024 * 1024 - 3)) conv=notrunc status=none
truncate -s 1M "$SRC/allhole"
head -c 100000 /dev/urandom > "$SRC/c/dense"
printf 'acl\n' > "$SRC/c/acl"
printf 'read only\n' > "$SRC/c/ro"
setfattr -n user.ro -v "on a read-only file" "$SRC/c/ro"
chmod 444 "$SRC/c/ro"
setfattr -n user.note -v "kept across" "$SRC/a/deep/f"
setfattr -n user.bin -v 0x00ff10 "$SRC/c/dense"
setfattr -n user.dir -v "on a directory" "$SRC/a"
setfacl -m u:nobody:r-x,g:nogroup:r "$SRC/b"
setfacl -d -m u:nobody:rw "$SRC/b"
setfacl -m u:nobody:rw "$SRC/c/acl"
mkfifo -m 640 "$SRC/fifo"
ln -s deep/f "$SRC/a/link"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SRC/sock"
chmod 2750 "$SRC/c"
chown 54321:54322 "$SRC/c/dense" 2>/dev/null   # ids without a name (as root)
OWNER=tvtest_o$$   # one per run: runs of two builds may overlap
if [ "$ROOT" = 1 ]; then
	mknod -m 600 "$SRC/null" c 1 3
	mknod -m 640 "$SRC/loop" b 7 200
	setfattr -n trusted.t -v "root only" "$SRC/a/deep/f"
	userdel "$OWNER" 2>/dev/null; groupdel "$OWNER" 2>/dev/null
	useradd -M -U -s /usr/sbin/nologin "$OWNER" || fail "useradd $OWNER"
	cleanup_hooks+=("userdel $OWNER 2>/dev/null; groupdel $OWNER 2>/dev/null")
	OUID=$(id -u "$OWNER"); OGID=$(getent group "$OWNER" | cut -d: -f3)
	printf '#!/bin/sh\necho ping\n' > "$SRC/c/ping"
	chown "$OWNER:$OWNER" "$SRC/c/ping" "$SRC/b"
	chmod 4750 "$SRC/c/ping"
	# cap_net_raw+ep (VFS_CAP_REVISION_2): set after the owner, which clears it
	setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$SRC/c/ping"
else
	echo "# not root: no device nodes, trusted.* xattrs, capabilities or other owners (those checks run as root)"
fi
touch -h -d '2021-02-03 04:05:06.789' "$SRC/a/link" "$SRC/fifo"
touch -d '2020-01-01 00:00:00.5' "$SRC/c" "$SRC/a"

new_home h lib 10 || exit 1
tv "$H" tape new lib VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9; expect_rc 0 "six tapes"
tv "$H" pool create p --library lib; expect_rc 0 "pool"
tv "$H" write p "$SRC" --name fid;  expect_rc 0 "write the tree (a socket is no failure)"
expect_err "sock: a socket, not stored" "the socket is named in a note"
tv "$H" --json backups
check "the 2 GiB sparse file took under 1 MiB of tape" python3 -c 'import json,sys; s=[b for b in json.loads(sys.argv[1])["backups"] if b["name"]=="fid"][0]; assert s["bytes_on_tape"] < (1 << 20), s' "$OUT"

R=$WORK/r
tv "$H" restore fid --to "$R";      expect_rc 0 "restore the tree"
RS=$(back "$SRC" "$R")
if compare "$SRC" "$RS"; then pass "identical: types, modes, owners, times, contents, xattrs, links"; else fail "restored tree differs"; fi
check "the sparse file is sparse on disk" test "$(stat -c %b "$RS/sparse")" -lt 2048
check "and holds the same bytes" cmp "$SRC/sparse" "$RS/sparse"
check "a file that is all hole stays so" test "$(stat -c %b "$RS/allhole")" -eq 0 -a "$(stat -c %s "$RS/allhole")" -eq 1048576
check "the access and default ACLs" test "$(cd "$SRC" && getfacl -p b c/acl 2>/dev/null)" = "$(cd "$RS" && getfacl -p b c/acl 2>/dev/null)"
check "the default ACL is there" bash -c "getfacl -p '$RS/b' 2>/dev/null | grep -q '^default:user:nobody:rw-'"
check "one inode for the three names" test "$(stat -c %i "$RS/a/deep/f")" = "$(stat -c %i "$RS/b/g")" -a "$(stat -c %h "$RS/h")" = 3
check "the FIFO is a FIFO" test -p "$RS/fifo"
check "no socket" test ! -e "$RS/sock"
if [ "$ROOT" = 1 ]; then
	check "the character device" test "$(stat -c '%F %t:%T %a' "$RS/null")" = "character special file 1:3 600"
	check "the block device" test "$(stat -c '%F %t:%T' "$RS/loop")" = "block special file 7:c8"
	check "the capability survived the owner change" bash -c "getfattr -n security.capability -e hex '$RS/c/ping' 2>/dev/null | grep -q 0x0100000200200000"
	check "setuid kept with the owner" test "$(stat -c '%a %U' "$RS/c/ping")" = "4750 $OWNER"
	check "an id without a name stays the id" test "$(stat -c '%u:%g' "$RS/c/dense")" = "54321:54322"
fi

# --- owners by name, and --numeric-owner, after the user's ids changed
MAP=()   # what the restores below expect of the owner's ids
if [ "$ROOT" = 1 ]; then
	NUID=$((OUID + 1000)); while getent passwd "$NUID" >/dev/null || getent group "$NUID" >/dev/null; do NUID=$((NUID + 1)); done
	usermod -u "$NUID" "$OWNER" && groupmod -g "$NUID" "$OWNER" || fail "usermod"
	MAP=(--map-uid "$OUID:$NUID" --map-gid "$OGID:$NUID")
	tv "$H" restore fid --to "$WORK/byname"; expect_rc 0 "restore after the owner's id changed"
	if compare "$SRC" "$(back "$SRC" "$WORK/byname")" "${MAP[@]}"; then
		pass "owners mapped by name to the new ids (ids without a name kept)"; else fail "owners by name"; fi
	tv "$H" restore fid --to "$WORK/numeric" --numeric-owner; expect_rc 0 "restore --numeric-owner"
	if compare "$SRC" "$(back "$SRC" "$WORK/numeric")"; then pass "--numeric-owner keeps the stored ids"; else fail "--numeric-owner"; fi
	check "the file is owned by the old id" test "$(stat -c %u "$(back "$SRC" "$WORK/numeric")/c/ping")" = "$OUID"
else
	echo "# not root: owner mapping by name is checked as root"
fi

# --- --no-xattrs on restore, and on write
tv "$H" restore fid --to "$WORK/nox" --no-xattrs; expect_rc 0 "restore --no-xattrs"
if compare "$SRC" "$(back "$SRC" "$WORK/nox")" --no-xattrs-in-b "${MAP[@]}"; then pass "no xattrs, ACLs or capabilities restored"; else fail "restore --no-xattrs"; fi
tv "$H" write p "$SRC" --name nox --no-xattrs; expect_rc 0 "write --no-xattrs"
tv "$H" restore nox --to "$WORK/nox2"; expect_rc 0 "restore a set written without xattrs"
# (written after the id changed: the old id has no name now, and stays)
if compare "$SRC" "$(back "$SRC" "$WORK/nox2")" --no-xattrs-in-b; then pass "none stored"; else fail "write --no-xattrs"; fi

# --- a sparse file split across tape files: the map in every part, D split
mkdir -p "$WORK/sp"
python3 - "$WORK/sp/vm.img" <<'PY'
import os, random, sys
r = random.Random(16)
with open(sys.argv[1], "wb") as f:
    f.truncate(300 << 20)
    for k in range(12):
        f.seek(k * (25 << 20) + r.randrange(1 << 20))
        f.write(r.randbytes(300000))
PY
tv "$H" write p "$WORK/sp" --name splitsparse --tape-file-size 1M; expect_rc 0 "write a sparse file in parts"
tv "$H" restore splitsparse --to "$WORK/spr"; expect_rc 0 "restore it"
expect_err "\(([2-9]|[1-9][0-9]+) part\(s\) read" "it came in several parts"
check "the same bytes" cmp "$WORK/sp/vm.img" "$(back "$WORK/sp" "$WORK/spr")/vm.img"
check "with its holes" test "$(stat -c %b "$(back "$WORK/sp" "$WORK/spr")/vm.img")" -lt 20000

# --- an xattr list too big for the entry header: carried in the data, and
# split across tape files (tmpfs holds big user xattrs; ext4 refuses them)
SHM=$(mktemp -d /dev/shm/tvfid.XXXXXX)
cleanup_hooks+=("rm -rf '$SHM'")
mkdir -p "$SHM/x"
head -c 1040000 /dev/urandom > "$SHM/x/a_filler"
printf 'small data\n' > "$SHM/x/b_bigx"
if python3 - "$SHM/x/b_bigx" <<'PY'
import os, sys
for k in range(4):
    os.setxattr(sys.argv[1], "user.big%d" % k, bytes([k]) * 30000)
PY
then
	tv "$H" write p "$SHM/x" --name bigx --tape-file-size 1M; expect_rc 0 "write 120 KB of xattrs"
	tv "$H" restore bigx --to "$SHM/out"; expect_rc 0 "restore them onto tmpfs"
	if compare "$SHM/x" "$(back "$SHM/x" "$SHM/out")"; then pass "120 KB of xattrs back from the data, across tape files"; else fail "big xattrs"; fi
	if [ "$(stat -f -c %T "$WORK")" != tmpfs ]; then
		tv "$H" restore bigx --to "$WORK/refused"; expect_rc 1 "a file system that refuses an xattr: exit 1"
		expect_err "b_bigx: extended attribute user.big[0-9] not restored" "names the file and the attribute"
		expect_err "could not be restored" "says the job is partial"
		check "the file itself is there" cmp "$SHM/x/b_bigx" "$(back "$SHM/x" "$WORK/refused")/b_bigx"
		tv "$H" restore bigx --to "$WORK/refused2" --allow-partial; expect_rc 0 "--allow-partial accepts it"
	else
		echo "# $WORK is on tmpfs: the refusing file system check needs another file system"
	fi
else
	echo "# /dev/shm takes no big user xattrs here: the xattr list in the data is checked by the unit tests only"
fi

# --- as an ordinary user: trusted.*, capabilities and devices are refused, named
if [ "$ROOT" = 1 ] && command -v setpriv >/dev/null; then
	U=$WORK/u; new_home u lib 4
	tv "$U" tape new lib VT0001L9; tv "$U" pool create p --library lib
	tv "$U" write p "$SRC" --name fid; expect_rc 0 "write (for an ordinary user's restore)"
	chmod 711 "$WORK"
	chown -R nobody:nogroup "$U" "$WORK/u-lib"
	mkdir "$WORK/asuser"; chown nobody:nogroup "$WORK/asuser"
	asuser() { OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$T" --home "$U" "$@" 2>"$WORK/.err"); RC=$?; ERR=$(cat "$WORK/.err"); }
	asuser restore fid --to "$WORK/asuser/r"; expect_rc 1 "restore as nobody: partial"
	expect_err "f: extended attribute trusted.t not restored: Operation not permitted" "trusted.* refused, named"
	expect_err "ping: extended attribute security.capability not restored" "the capability refused, named"
	expect_err "null: a character device \(1:3\): only root can make one" "a device node refused, named"
	asuser restore fid --to "$WORK/asuser/r2" --allow-partial; expect_rc 0 "--allow-partial"
	RU=$(back "$SRC" "$WORK/asuser/r2")
	check "the data is there" cmp "$SRC/a/deep/f" "$RU/a/deep/f"
	check "user.* xattrs and ACLs are" test "$(getfattr --only-values -n user.note "$RU/a/deep/f" 2>/dev/null)" = "kept across" -a "$(cd "$SRC" && getfacl -p c/acl 2>/dev/null | grep -v '^# owner\|^# group')" = "$(cd "$RU" && getfacl -p c/acl 2>/dev/null | grep -v '^# owner\|^# group')"
	check "the FIFO is" test -p "$RU/fifo"
	check "a read-only file gets its user.* xattr, and stays read-only" test "$(getfattr --only-values -n user.ro "$RU/c/ro" 2>/dev/null)" = "on a read-only file" -a "$(stat -c %a "$RU/c/ro")" = 444
	chmod 700 "$WORK"
else
	echo "# not root (or no setpriv): the restore as an ordinary user is checked as root"
fi

# --- a fresh installation: the catalog rebuilt from the tapes restores the same
tv "$H" tape export VT0001L9 --to "$WORK/box"; expect_rc 0 "export the tape"
new_home fresh lib 10
trust_writer "$H" "$WORK/fresh"
tv "$WORK/fresh" tape insert lib --copy "$WORK/box/VT0001L9.tap"; expect_rc 0 "insert it"
tv "$WORK/fresh" catalog lib;       expect_rc 0 "catalog it"
tv "$WORK/fresh" restore fid --to "$WORK/fr"; expect_rc 0 "restore from the rebuilt catalog"
if compare "$SRC" "$(back "$SRC" "$WORK/fr")" "${MAP[@]}"; then pass "the same tree (FIFOs, devices, names, xattrs of directories and links too)"; else fail "rebuilt catalog restore"; fi
check "sparse there too" test "$(stat -c %b "$(back "$SRC" "$WORK/fr")/sparse")" -lt 2048
finish

#!/usr/bin/env bash
# tapevault demo: the whole story on embedded defaults, in a scratch
# directory.  Usage: tools/demo.sh [path/to/tapevault]
set -euo pipefail
T=$(realpath "${1:-build/tapevault}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/tapevault-demo.XXXXXX")
KMSDIR=""
cleanup() {
	[ -n "$KMSDIR" ] && bash "$SRC/tests/kms/pykmip-server.sh" stop "$KMSDIR" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT
cd "$D"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ tapevault %s\n' "$*"; "$T" "$@"; }
HQ="--home $D/hq"
DR="--home $D/dr"

step "1. The backup server: a virtual library with 8 cartridges of 64 MiB"
run $HQ init
run $HQ library create vault --path "$D/vault" --slots 10
run $HQ tape new vault VT0001L9 VT0002L9 VT0003L9 VT0004L9 VT0005L9 VT0006L9 VT0007L9 VT0008L9 --capacity 64M
run $HQ library status vault

step "2. A password-encrypted media pool; some data (a 70 MiB file spans two tapes)"
printf 'monday morning\n' > pw-weekly; printf 'tuesday evening\n' > pw-q3; chmod 600 pw-*
run $HQ password add weekly --hint "the day we met" --password-file pw-weekly
run $HQ password add q3 --hint "quarter three" --password-file pw-q3
run $HQ pool create offsite --library vault --encryption password:weekly
mkdir -p data/docs data/db
for i in $(seq 1 200); do echo "report $i: tapevault demo data" > "data/docs/report-$i.txt"; done
head -c $((70 * 1024 * 1024)) /dev/urandom > data/db/dump.bin
ln -s docs/report-1.txt data/latest
SET1=$(run $HQ write offsite data --name nightly-1)
echo "backup set: $SET1"

step "3. Key rotation: the pool switches to another password; new tapes use it"
run $HQ pool set offsite --encryption password:q3
mkdir -p more; echo "after rotation" > more/notes.txt
SET2=$(run $HQ write offsite more --name nightly-2)
run $HQ tape list --pool offsite
run $HQ backups

step "4. Disaster: the tapes go to a fresh installation that knows no password"
run $HQ tape export VT0001L9 VT0002L9 VT0003L9 --to "$D/box"
# kept with the off-site records: the server's identity (it signs every tape it writes)
run $HQ identity export --out "$D/hq-identity.pub"
HQ_FPR=$("$T" $HQ identity list | awk '$1=="own"{print $2}')
run $DR init
run $DR library create dr --path "$D/dr-lib" --slots 10
run $DR tape insert dr "$D"/box/*.tap
run $DR catalog dr || true
cat <<EOT
   ^ Every tape is signed by the installation that wrote it. This new
     installation knows only its own identity, so it shows the labels and
     the writer's fingerprint and catalogs nothing of the tapes' contents:
     a tape forged with a public key (escrow, KMS) must not slip in. The
     fingerprint is the old server's ($HQ_FPR,
     noted with the off-site records), so the operator trusts it once, for
     every tape it wrote (on a terminal 'catalog' asks; here the option says it):
EOT
run $DR catalog dr --trust-writer "$HQ_FPR"
run $DR tape list
run $DR backups

step "5. 'Specify password': decrypting the last tape with the latest password unlocks all"
run $DR decrypt VT0003L9 --password-file pw-q3 --yes
run $DR backups

step "6. Restore and compare"
run $DR restore nightly-1 --to "$D/restored"
diff -r data "$D/restored/data" && echo "restored tree is identical"
run $DR verify VT0001L9 VT0002L9 VT0003L9

step "7. Double encryption: a job-encrypted backup file on an encrypted tape"
printf 'job secret\n' > pw-job; chmod 600 pw-job
run $HQ password add job --hint "job key" --password-file pw-job
run $HQ backup create data/docs --out "$D/docs.tvb" --encryption password:job
mkdir -p jobs; cp "$D/docs.tvb" jobs/
run $HQ write offsite jobs --name job-backups
run $HQ backups

if [ -x /usr/bin/pykmip-server ] || dpkg -s python3-pykmip >/dev/null 2>&1; then
	step "8. A KMS (PyKMIP on loopback): KMS-protected pool, fresh installation, automatic decryption"
	KMSDIR=$D/kms
	eval "$(bash "$SRC/tests/kms/pykmip-server.sh" start "$KMSDIR")"
	run $HQ kms add corp --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	run $HQ kms test corp
	run $HQ pool create kmspool --library vault --encryption kms:corp
	run $HQ write kmspool data/docs --name kms-1
	run $HQ tape list --pool kmspool
	KT=$("$T" $HQ tape list --pool kmspool | awk 'NR>1{print $1; exit}')
	run $HQ tape export "$KT" --to "$D/box-kms"
	step "   ... fresh installation without the KMS: the tape is locked and names key id and server"
	run --home "$D/dr2" init
	run --home "$D/dr2" library create dr --path "$D/dr2-lib" --slots 4
	run --home "$D/dr2" tape insert dr --copy "$D/box-kms/$KT.tap"
	run --home "$D/dr2" identity trust "$D/hq-identity.pub"   # the writer, as in step 4
	run --home "$D/dr2" catalog dr
	run --home "$D/dr2" tape list
	run --home "$D/dr2" kms add corp-dr --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	run --home "$D/dr2" decrypt "$KT" --kms corp-dr --yes
	run --home "$D/dr2" backups
	step "   ... fresh installation with the KMS registered: decrypted automatically"
	run --home "$D/dr3" init
	run --home "$D/dr3" library create dr --path "$D/dr3-lib" --slots 4
	run --home "$D/dr3" kms add corp --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	run --home "$D/dr3" tape insert dr --copy "$D/box-kms/$KT.tap"
	run --home "$D/dr3" identity trust "$D/hq-identity.pub"
	run --home "$D/dr3" catalog dr
	run --home "$D/dr3" backups
fi
step "9. Password loss protection: an escrow authority recovers a tape whose password is lost"
printf 'authority passphrase\n' > pw-auth; printf 'soon forgotten\n' > pw-lost; chmod 600 pw-auth pw-lost
run --home "$D/authority" init       # the authority's own machine: its trust list and audit log
run --home "$D/authority" escrow keygen --out "$D/authority.pem" --password-file pw-auth
run --home "$D/authority" escrow public "$D/authority.pem" --out "$D/authority.pub" --password-file pw-auth
run $HQ escrow enable --public "$D/authority.pub"
run $HQ password add lost --hint "nobody remembers" --password-file pw-lost
run $HQ pool create archive --library vault --encryption password:lost
run $HQ write archive data/docs --name archive-1
AT=$("$T" $HQ tape list --pool archive | awk 'NR>1{print $1; exit}')
run $HQ tape export "$AT" --to "$D/box-esc"
run --home "$D/dr4" init
run --home "$D/dr4" library create dr --path "$D/dr4-lib" --slots 4
run --home "$D/dr4" tape insert dr "$D/box-esc/$AT.tap"
run --home "$D/dr4" identity trust "$D/hq-identity.pub"
run --home "$D/dr4" catalog dr
run --home "$D/dr4" escrow request "$AT" --out "$D/request.txt"
head -3 "$D/request.txt"; echo "   ..."
# the authority answers only installations it trusts: the new machine sends
# its identity, both sides compare the fingerprint (by phone), the authority adds it
run --home "$D/dr4" identity export --out "$D/dr4-identity.pub"
run --home "$D/authority" escrow trust add "$D/dr4-identity.pub" --name dr4
run --home "$D/authority" escrow respond --keyset "$D/authority.pem" "$D/request.txt" --out "$D/response.txt" --password-file pw-auth --yes
run --home "$D/dr4" escrow apply "$D/response.txt"
run --home "$D/dr4" backups
run --home "$D/dr4" audit

step "10. An incremental chain: full, change a file, delete a file, incremental, restore it"
run $HQ tape new vault VT0011L9 VT0012L9
run $HQ pool create daily --library vault
mkdir -p site/pages; echo "home page" > site/index.html; echo "old news" > site/pages/news.html
echo "about us" > site/pages/about.html
run $HQ write daily site --name site
echo "home page, edited" > site/index.html; rm site/pages/news.html
run $HQ write daily site --name site --level incremental
run $HQ backups
run $HQ restore site --to "$D/restored-incr"
diff -r site "$D/restored-incr$D/site" && echo "the incremental restores the tree as it was (news.html absent)"

step "11. Retention: the daily pool keeps a media set 1 s after its newest set; expire frees it, the next write reuses its tape"
run $HQ pool set daily --retention 1s
sleep 2
run $HQ expire --dry-run
run $HQ expire
run $HQ tape list --pool daily
run $HQ write daily site --name site-after-expiry
run $HQ backups

step "Done: every step above ran for real on virtual tapes in $D (now removed)"

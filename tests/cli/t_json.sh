#!/usr/bin/env bash
# --json on every command (issue 11): one valid document on stdout, typed
# (arrays are arrays, numbers are numbers), nothing else on stdout; errors
# in it too.  --help on command groups.  library status --json labels.
. "$(dirname "$0")/lib.sh"
H=$WORK/home

# jq JSON-CHECK DESCRIPTION: the last output parses as one document and the
# Python expression (d is the document) holds
jq() {
	check "$2" python3 - "$OUT" "$1" <<'EOF'
import json, re, sys
d = json.loads(sys.argv[1])
iso = lambda s: isinstance(s, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", s)
ok = eval(sys.argv[2])
if not ok:
    print("  failed: " + sys.argv[2] + "\n  on: " + json.dumps(d)[:600])
sys.exit(0 if ok else 1)
EOF
}
j() { tv "$H" --json "$@"; }

# --- help on groups
tv "$H" library --help;          expect_rc 0 "library --help"
expect_out "usage: tapevault library SUBCOMMAND" "group usage"
expect_out "tapevault library create NAME" "lists the group's commands"
tv "$H" tape -h;                 expect_rc 0 "tape -h"; expect_out "tapevault tape list" "lists tape commands"
tv "$H" kms key --help;          expect_rc 0 "a two-word group: kms key --help"
expect_out "tapevault kms key create" "lists kms key commands"
tv "$H" help --help;             expect_rc 0 "help --help"; expect_out "usage: tapevault" "global usage"
tv "$H" frob --help;             expect_rc 2 "--help of an unknown command is a usage error"
tv "$H" library;                 expect_rc 2 "a bare group is still a usage error"
tv "$H" files --help;            expect_rc 0 "files --help"; expect_out "usage: tapevault files SET" "files usage"
tv "$H" find --help;             expect_rc 0 "find --help"
tv "$H" jobs --help;             expect_rc 0 "jobs --help"

# --- --help on every command and every group of the 'tapevault help' list
"$T" help > "$WORK/help.txt";                RC=$?; expect_rc 0 "help"
mapfile -t CMDS < <(python3 - "$WORK/help.txt" <<'EOF'
import re, sys
for line in open(sys.argv[1]):
    if not line.startswith("  ") or line.startswith("   "):
        continue
    words = []
    for w in line.split():
        if not re.fullmatch(r"[a-z]+", w):
            break
        words.append(w)
    if words:
        print(" ".join(words))
EOF
)
check "help lists the commands (${#CMDS[@]})" test "${#CMDS[@]}" -ge 60
bad=()
groups=()
for c in "${CMDS[@]}"; do
	read -r -a w <<< "$c"
	out=$("$T" "${w[@]}" --help 2>&1); rc=$?
	if [ $rc -ne 0 ] || ! printf '%s' "$out" | grep -q "^usage: tapevault $c " || [ "$(printf '%s\n' "$out" | wc -l)" -lt 3 ]; then
		bad+=("$c --help: exit $rc")
	fi
	out=$("$T" help "${w[@]}" 2>&1); rc=$?
	[ $rc -eq 0 ] && printf '%s' "$out" | grep -q "^usage: tapevault $c " || bad+=("help $c: exit $rc")
	[ ${#w[@]} -gt 1 ] && groups+=("${w[0]}")
	[ ${#w[@]} -gt 2 ] && groups+=("${w[0]} ${w[1]}")
done
while read -r g; do
	[ -n "$g" ] || continue
	read -r -a w <<< "$g"
	out=$("$T" "${w[@]}" --help 2>&1); rc=$?
	[ $rc -eq 0 ] && printf '%s' "$out" | grep -q "usage: tapevault $g SUBCOMMAND" || bad+=("$g --help (group): exit $rc")
done < <(printf '%s\n' "${groups[@]}" | sort -u)
check "every command's --help and 'help CMD' exit 0 with its usage and text, every group's --help lists it${bad[*]+: ${bad[*]}}" test ${#bad[@]} -eq 0

# --- state and media
j init;                                      expect_rc 0 "init"
jq 'isinstance(d["home"], str) and d["kept_keys"] is False' "init --json"
j library create lib --path "$WORK/lib" --slots 6 --mailslots 2; expect_rc 0 "library create"
jq 'd["library"]["name"] == "lib" and d["library"]["slots"] == 6 and d["library"]["mailslots"] == 2' "library create --json"
j library list;                              jq '[l["name"] for l in d["libraries"]] == ["lib"]' "library list --json"
j tape new lib VT0001L9 VT0002L9 VT0003L9;   expect_rc 0 "tape new"
jq '[t["barcode"] for t in d["tapes"]] == ["VT0001L9", "VT0002L9", "VT0003L9"] and all(isinstance(t["slot"], int) for t in d["tapes"])' "tape new --json"
j library status lib;                        expect_rc 0 "library status"
jq '[(e["type"], e["index"]) for e in d["elements"]] == [("drive", 0)] + [("slot", i) for i in range(1, 7)] + [("mailslot", 1), ("mailslot", 2)]' \
	"library status --json: drive 0, slots 1-6, mail slots 1-2 (labels and indexes right)"
jq '[e["barcode"] for e in d["elements"] if e["full"]] == ["VT0001L9", "VT0002L9", "VT0003L9"] and d["kind"] == "directory"' \
	"library status --json: barcodes of the full elements"
j tape list;                                 expect_rc 0 "tape list"
jq 'len(d["tapes"]) == 3 and all(isinstance(t["used"], int) and t["last_written"] is None and "expires" in t and isinstance(t["capacity"], int) for t in d["tapes"])' \
	"tape list --json: used, capacity, last written (none yet), expires"
secret "$WORK/pw" "json pass phrase"
j password add pw --hint "the json one" --password-file "$WORK/pw"; expect_rc 0 "password add"
j password list;                             jq 'd["passwords"][0]["name"] == "pw" and isinstance(d["passwords"][0]["created"], int)' "password list --json"
j pool create p --library lib;               expect_rc 0 "pool create"
jq 'd["pool"]["name"] == "p" and d["pool"]["tapes"] == 0' "pool create --json: the pool"
j pool create e --library lib --encryption password:pw; expect_rc 0 "encrypted pool"
j pool set p --compression none;             expect_rc 0 "pool set"
jq 'd["pool"]["compression"] == "none"' "pool set --json: the pool as it is now"
j pool list;                                 jq 'sorted(p["name"] for p in d["pools"]) == ["e", "p"]' "pool list --json"

# --- jobs
mkdir -p "$WORK/src/d"; echo hello > "$WORK/src/d/f"; echo x > "$WORK/src/g"
j write p "$WORK/src" --name s;              expect_rc 0 "write"
jq 'len(d["backup_set"]) == 36 and d["files"] == 4 and d["bytes"] == 8 and d["tapes"] == 1' "write --json"
j write e "$WORK/src" --name es;             expect_rc 0 "encrypted write"
j pool show p;                               expect_rc 0 "pool show"
jq 'isinstance(d["pool"], dict) and d["pool"]["name"] == "p" and d["pool"]["drive_encryption"] is False and [t["barcode"] for t in d["tapes"]] == ["VT0001L9"]' \
	"pool show --json: an object, its tapes an array of tapes"
j pool show nosuch;                          expect_rc 1 "pool show of an unknown pool"
jq '"no media pool" in d["error"]' "pool show --json: the error in the document"
j backups;                                   expect_rc 0 "backups"
jq 'all(isinstance(b["tapes"], list) and iso(b["created"]) and isinstance(b["files"], int) for b in d["backups"])' \
	"backups --json: tapes an array, created ISO 8601"
j tape show VT0001L9;                        jq 'd["tape"]["barcode"] == "VT0001L9" and isinstance(d["tape"]["used"], int)' "tape show --json"
j tape dump "$WORK/lib/VT0001L9.tap";        expect_rc 0 "tape dump"
jq 'd["format_version"] == 2 and d["items"][0]["kind"] == "file" and d["items"][0]["volume"]["barcode"] == "VT0001L9" and d["items"][-1]["kind"] == "end"' \
	"tape dump --json: one document, items decoded"
jq 'any(i["kind"] == "stream" and isinstance(i["records"], int) for i in d["items"]) and any("data" in i for i in d["items"])' \
	"tape dump --json: the data file and its stream"
check "tape dump --json: nothing but the document on stdout" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$OUT"
j restore s --to "$WORK/r";                  expect_rc 0 "restore"
jq 'd["result"] == "ok" and d["files"] == 4 and d["bytes"] == 8 and d["backup_set"]["name"] == "s"' "restore --json: result, counts, the set"
j restore s --to "$WORK/r";                  expect_rc 1 "restore onto existing files"
jq 'd["result"] == "failed" and "error" in d and d["warnings"] >= 1' "restore --json: a failure in the document"
j verify VT0001L9;                           expect_rc 0 "verify"
jq 'd["result"] == "ok" and [t["barcode"] for t in d["tapes"]] == ["VT0001L9"] and d["bytes"] == 8' "verify --json"
j inventory lib;                             expect_rc 0 "inventory"
jq 'd["result"] == "ok" and d["library"] == "lib" and len(d["tapes"]) == 3' "inventory --json: the library's tapes"
j catalog lib VT0001L9;                      expect_rc 0 "catalog"
jq 'd["result"] == "ok" and [t["barcode"] for t in d["tapes"]] == ["VT0001L9"] and iso(d["tapes"][0]["last_written"])' "catalog --json: the tape named"
j decrypt VT0002L9 --password-file "$WORK/pw" --yes; expect_rc 0 "decrypt (already unlocked)"
jq 'd["result"] == "ok" and d["tapes"][0]["barcode"] == "VT0002L9" and d["tapes"][0]["encrypted"] is True' "decrypt --json"
j files s;                                   jq 'len(d["files"]) == 4' "files --json"
j find f;                                    jq 'len(d["versions"]) == 2 and all(isinstance(v["tapes"], list) for v in d["versions"])' "find --json"
j restore s --dry-run;                       jq 'd["dry_run"] is True and isinstance(d["tapes"], list)' "restore --dry-run --json"
j jobs;                                      jq 'all(isinstance(x["id"], int) and iso(x["start"]) for x in d["jobs"])' "jobs --json"
j audit;                                     jq 'isinstance(d["audit"], list)' "audit --json"
j kms list;                                  jq 'd["kms"] == []' "kms list --json"

# --- moving cartridges
j tape load lib VT0001L9;                    expect_rc 0 "tape load"
jq 'd["barcode"] == "VT0001L9" and d["drive"] == 0' "tape load --json"
j library status lib
jq '[e for e in d["elements"] if e["type"] == "drive"][0]["barcode"] == "VT0001L9"' "status --json: the cartridge in drive 0"
j tape unload lib;                           expect_rc 0 "tape unload"
jq 'd["unloaded"] == [{"barcode": "VT0001L9", "drive": 0, "slot": 1}]' "tape unload --json"
j tape move lib VT0003L9 mail:1;             expect_rc 0 "tape move"
jq 'd["from"] == "VT0003L9" and d["to"] == "mail:1"' "tape move --json"
j library status lib
jq '[e["index"] for e in d["elements"] if e["type"] == "mailslot" and e["full"]] == [1]' "status --json: in mail slot 1"
j tape export VT0002L9 --to "$WORK/box";     expect_rc 0 "tape export"
jq 'd["exported"][0]["barcode"] == "VT0002L9" and d["exported"][0]["to"].startswith("'"$WORK"'/box")' "tape export --json"
j tape insert lib "$WORK/box/VT0002L9.tap";  expect_rc 0 "tape insert"
jq 'd["inserted"][0]["barcode"] == "VT0002L9" and isinstance(d["inserted"][0]["slot"], int)' "tape insert --json"
j frobnicate;                                expect_rc 2 "unknown command with --json"

# --- keys and escrow: one document each, nothing else on stdout
j password add pw2 --hint "second" --password-file "$WORK/pw"; expect_rc 0 "password add"
jq 'd["password"] == {"name": "pw2", "hint": "second", "kdf": "pbkdf2"}' "password add --json: the password as password list has it"
secret "$WORK/kpw" "key set pass phrase"
j escrow keygen --out "$WORK/ks.pem" --password-file "$WORK/kpw"; expect_rc 0 "escrow keygen"
jq 'd["fingerprint"].startswith("SHA256:")' "escrow keygen --json"
j escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file "$WORK/kpw"; expect_rc 0 "escrow public"
jq 'd["fingerprint"].startswith("SHA256:") and d["file"].endswith("pub.pem")' "escrow public --json: the document alone on stdout"
j escrow enable --public "$WORK/pub.pem";    expect_rc 0 "escrow enable"
jq 'd["fingerprint"].startswith("SHA256:") and d["enabled"] is True' "escrow enable --json"
j identity export --out "$WORK/id.pub";      expect_rc 0 "identity export"
jq 'd["fingerprint"].startswith("SHA256:")' "identity export --json"
j escrow trust add "$WORK/id.pub" --name me; expect_rc 0 "escrow trust add"
jq 'd["fingerprint"].startswith("SHA256:")' "escrow trust add --json"
FP=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["fingerprint"])' "$OUT")
j escrow trust list;                         jq '[t["installation"] for t in d["trusted"]] == ["me"] and iso(d["trusted"][0]["added"])' "escrow trust list --json"
mkdir -p "$WORK/esrc"; echo e > "$WORK/esrc/e"
j pool create ep --library lib --encryption password:pw2; expect_rc 0 "a pool written with escrow on"
j write ep "$WORK/esrc" --name esc;          expect_rc 0 "a tape with an escrow slot"
j backups;                                   ET=$(python3 -c 'import json,sys; print([b["tapes"][0] for b in json.loads(sys.argv[1])["backups"] if b["name"] == "esc"][0])' "$OUT")
j escrow request "$ET" --out "$WORK/req.txt"; expect_rc 0 "escrow request"
jq 'd["tapes"] == ["'"$ET"'"] and d["skipped"] == 0 and d["file"].endswith("req.txt")' "escrow request --json"
j escrow respond --keyset "$WORK/ks.pem" "$WORK/req.txt" --out "$WORK/resp.txt" --password-file "$WORK/kpw" --yes
expect_rc 0 "escrow respond"
jq 'd["answered"] is True and d["file"].endswith("resp.txt")' "escrow respond --json: the request shown on stderr, the document alone on stdout"
expect_err "Escrow request" "what the request asks is on stderr"
j escrow apply "$WORK/resp.txt";             expect_rc 0 "escrow apply"
jq 'd["result"] == "ok" and d["response"].endswith("resp.txt") and isinstance(d["warnings"], int)' "escrow apply --json"
j escrow recover --keyset "$WORK/ks.pem" "$ET" --password-file "$WORK/kpw"; expect_rc 0 "escrow recover"
jq 'd["result"] == "ok" and [t["barcode"] for t in d["tapes"]] == ["'"$ET"'"]' "escrow recover --json: the tapes"
j escrow trust remove "$FP";                 expect_rc 0 "escrow trust remove"
jq 'd["removed"] == "'"$FP"'"' "escrow trust remove --json"
j tape erase VT0003L9 --yes --force;         expect_rc 0 "tape erase"
jq 'd["barcode"] == "VT0003L9" and d["erased"] is True and isinstance(d["removed_sets"], list)' "tape erase --json"

# --- KMS (a PyKMIP server, when it is installed)
KMSH=$TV_SOURCE_DIR/tests/kms/pykmip-server.sh
export KMS_WATCH_PID=$$
if kout=$(bash "$KMSH" start "$WORK/kms" 2>/dev/null); then
	eval "$kout"
	cleanup_hooks+=("bash '$KMSH' stop '$WORK/kms' >/dev/null 2>&1")
	j kms add corp --host 127.0.0.1 --port "$KMS_PORT" --ca "$KMS_CA" --cert "$KMS_CERT" --key "$KMS_KEY"
	expect_rc 0 "kms add"
	jq 'd["kms"]["name"] == "corp" and d["kms"]["port"] == '"$KMS_PORT"' and d["kms"]["keys"] == 0' "kms add --json: the server as kms list has it"
	j kms list;                              jq '[k["name"] for k in d["kms"]] == ["corp"] and isinstance(d["kms"][0]["port"], int)' "kms list --json"
	j kms test corp;                         expect_rc 0 "kms test"
	jq 'isinstance(d["versions"], list) and "1.4" in d["versions"] and "Decrypt" in d["operations"]' "kms test --json: versions and operations are arrays"
	j kms key create corp --name jk;         expect_rc 0 "kms key create"
	jq 'isinstance(d["key_id"], str) and len(d["key_id"]) > 0' "kms key create --json: the key id"
else
	echo "ok - # SKIP kms --json: the PyKMIP server did not start"
fi
# a job that fails: the document says so, and what it could not describe
j restore nosuch --to "$WORK/nosuch";        expect_rc 1 "restore of an unknown set with --json"
jq 'd["result"] == "failed" and "error" in d and "backup_set_error" in d and "backup_set" not in d' "the document says failed and why the set is missing"
expect_no_err "could not be described" "no second message beside the job's own"

finish

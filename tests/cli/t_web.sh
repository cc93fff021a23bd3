#!/usr/bin/env bash
# Issue 13: tapevault serve and its REST API over HTTPS, with curl: users
# and roles, tokens (missing, wrong, expired), the login brake and its
# audit, security headers, decrypting a password tape through the API
# then restoring it (CLI and API), and no secret in any response or log.
. "$(dirname "$0")/lib.sh"
. "$TV_SOURCE_DIR/tests/web/lib_web.sh"
command -v curl >/dev/null || { echo "not ok - curl is missing (tools/install-deps.sh)"; exit 1; }
web_fixture || { fail "fixture"; finish; exit 1; }
mkdir -p "$WORK/resp"
N=0
# req METHOD PATH [TOKEN] [BODY-FILE]: CODE, BODY; every answer kept in resp/
req() {
	local m=$1 p=$2 tok=${3:-} bf=${4:-}
	local args=(-sk -o "$WORK/resp/$N.body" -D "$WORK/resp/$N.hdr" -w '%{http_code}' -X "$m")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$bf" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$bf")
	CODE=$(curl "${args[@]}" "$URL$p")
	BODY=$(cat "$WORK/resp/$N.body"); HDR=$(cat "$WORK/resp/$N.hdr")
	OUT=$BODY; ERR="HTTP $CODE"
	N=$((N + 1))
}
expect_code() { if [ "$CODE" = "$1" ]; then pass "$2"; else fail "$2 (HTTP $CODE, wanted $1)"; fi; }
json() { printf '%s' "$BODY" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
body() { printf '%s' "$1" > "$WORK/req.json"; chmod 600 "$WORK/req.json"; }
# start_job METHOD PATH TOKEN BODY-JSON: 202 and JOB (its id), else a failure said
start_job() {
	body "$4"; req "$1" "$2" "$3" "$WORK/req.json"
	JOB=$(json 'd.get("id", "")' 2>/dev/null)
}
# wait_job ID TOKEN: polls GET /jobs/ID until it ends (60 s); STATE, BODY
wait_job() {
	STATE=""
	for _ in $(seq 1 300); do
		req GET "/api/v1/jobs/$1" "$2"
		STATE=$(json 'd["state"]' 2>/dev/null)
		case "$STATE" in queued|running) sleep 0.2 ;; *) return 0 ;; esac
	done
}
login() { # login USER PWFILE: TOKEN (the login answers are kept apart)
	# (the fixture's passwords need no JSON escaping)
	printf '{"user":"%s","password":"%s"}' "$1" "$(cat "$2")" > "$WORK/login.json"
	CODE=$(curl -sk -o "$WORK/login-$1.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "@$WORK/login.json" "$URL/api/v1/login")
	TOKEN=$(grep -o '"token":"[0-9a-f]*"' "$WORK/login-$1.body" | cut -d'"' -f4)
	rm -f "$WORK/login.json"
}

# --- users
tv "$B" user add op --password-file pw-op; expect_rc 1 "a user name is taken once"
tv "$B" user add x --role root --password-file pw-op; expect_rc 2 "an unknown role is a usage error"
tv "$B" user add 'bad name' --password-file pw-op; expect_rc 1 "a bad user name is refused"
check "passwords are stored as Argon2id hashes" bash -c \
	"test \"\$(printf '%s\\n' \"\$1\" | grep -c '^\\\$argon2id\\\$v=19\\\$m=19456,t=2,p=1\\\$')\" = 3" \
	_ "$(catalog_sql "$B" 'SELECT hash FROM web_users')"
check "no console password in the state directory" bash -c "! grep -rqF 'operator secret 3Kd' '$B'"

# --- the server: TLS by default with a self-signed certificate
web_start S "$B" || { fail "serve starts"; finish; exit 1; }
URL=$S_URL
check "serves https" bash -c "[ '${URL%%:*}' = https ]"
check "a self-signed certificate was made" test -s "$B/web/tls.crt"
check "its key is readable by the owner only" bash -c "[ \$(stat -c %a '$B/web/tls.key') = 600 ]"
check "the certificate names 127.0.0.1" bash -c "openssl x509 -in '$B/web/tls.crt' -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'"
check "curl verifies the server against that certificate" bash -c \
	"curl -s --cacert '$B/web/tls.crt' -o /dev/null '$URL/'"
check "plain HTTP on the TLS port is refused" bash -c "! curl -s -o /dev/null 'http://${URL#https://}/api/v1/tapes'"
grep -q "SHA-256 fingerprint" "$WORK/S.log" && pass "the fingerprint is printed" || fail "fingerprint printed"

# --- the console and the security headers
req GET /; expect_code 200 "GET / serves the console"
check "the login form has fields named user and password" bash -c \
	"grep -q 'name=\"user\"' '$WORK/resp/$((N-1)).body' && grep -q 'name=\"password\"' '$WORK/resp/$((N-1)).body'"
printf '%s' "$HDR" | grep -qi "^content-security-policy: default-src 'self'" && pass "strict CSP" || fail "strict CSP"
printf '%s' "$HDR" | grep -qi '^x-content-type-options: nosniff' && pass "nosniff" || fail "nosniff"
printf '%s' "$HDR" | grep -qi '^set-cookie' && fail "no cookie is set" || pass "no cookie is set"
req GET /app.js; expect_code 200 "the script is served"
printf '%s' "$HDR" | grep -qi '^content-type: text/javascript' && pass "as JavaScript" || fail "as JavaScript"
req GET /../catalog.db; expect_code 404 "no path outside the assets"
req GET /nothing.html; expect_code 404 "an unknown file is 404"

# --- 401 without a token, or with a wrong one
for p in /api/v1/tapes /api/v1/backups /api/v1/jobs /api/v1/libraries /api/v1/nope; do
	req GET "$p"; expect_code 401 "GET $p without a token: 401"
done
req POST /api/v1/tapes/VT0001L9/decrypt; expect_code 401 "decrypt without a token: 401"
printf '%s' "$HDR" | grep -qi '^www-authenticate: Bearer' && pass "401 names the Bearer scheme" || fail "WWW-Authenticate"
req GET /api/v1/tapes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
expect_code 401 "an unknown token: 401"
req GET /api/v1/tapes "garbage"; expect_code 401 "a malformed token: 401"

# --- logins
body '{"user":"op","password":"not it"}'
req POST /api/v1/login "" "$WORK/req.json"; expect_code 401 "a wrong password: 401"
body '{"user":"nobody","password":"x"}'
req POST /api/v1/login "" "$WORK/req.json"; expect_code 401 "an unknown user: 401, the same answer"
body '{"user":"op"}'
req POST /api/v1/login "" "$WORK/req.json"; expect_code 400 "a login without password: 400"
body '{"user":'; req POST /api/v1/login "" "$WORK/req.json"; expect_code 400 "malformed JSON: 400"
head -c 100000 /dev/zero | tr '\0' 'a' > "$WORK/big.json"
req POST /api/v1/login "" "$WORK/big.json"; expect_code 413 "a body over 64 KiB: 413"
tv "$B" audit; expect_out "web login .*password \(wrong\).*'op'" "a failed login is audited"
login view pw-view; VIEW=$TOKEN
check "the viewer logs in" test -n "$VIEW"
login op pw-op; OP=$TOKEN
check "the operator logs in" test -n "$OP"
check "tokens are 32 random bytes in hex" bash -c "[[ '$OP' =~ ^[0-9a-f]{64}\$ ]] && [ '$OP' != '$VIEW' ]"

# --- reading: the same fields as the CLI's --json
req GET /api/v1/me "$VIEW"; expect_code 200 "me"
check "me says viewer" bash -c "[ \"\$(printf '%s' '$BODY' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"role\"])')\" = viewer ]"
req GET /api/v1/tapes "$VIEW"; expect_code 200 "the viewer lists tapes"
check "VT0001L9 is there, locked" bash -c "[ \"\$(printf '%s' '$BODY' | python3 -c 'import json,sys; t=[x for x in json.load(sys.stdin)[\"tapes\"] if x[\"barcode\"]==\"VT0001L9\"][0]; print(t[\"locked\"], t[\"encrypted\"], t[\"slots\"][0][\"hint\"])')\" = 'True True $WEB_HINT' ]"
"$T" --home "$B" --json tape list > "$WORK/cli-tapes.json"
check "the API's tape fields are the CLI's (and slots)" python3 - "$WORK/cli-tapes.json" "$WORK/resp/$((N-1)).body" <<'PY'
import json, sys
cli = json.load(open(sys.argv[1]))["tapes"][0]; api = json.load(open(sys.argv[2]))["tapes"][0]
missing = [k for k in cli if k not in api or api[k] != cli[k]]
assert not missing, missing
PY
req GET "/api/v1/tapes?state=locked" "$VIEW"; expect_code 200 "tapes?state=locked"
req GET "/api/v1/tapes?state=bogus" "$VIEW"; expect_code 400 "an unknown state: 400"
req GET /api/v1/backups "$VIEW"; expect_code 200 "backups"
expect_out '"state":"tape encrypted"' "the set on the locked tape shows as tape encrypted"
req GET /api/v1/libraries "$VIEW"; expect_code 200 "libraries"
req GET /api/v1/pools "$VIEW"; expect_code 200 "pools"
req GET /api/v1/jobs "$VIEW"; expect_code 200 "jobs"
req GET /api/v1/audit "$VIEW"; expect_code 403 "the audit log is not for viewers"
req GET /api/v1/login "$VIEW"; expect_code 405 "GET on the login route: 405"
req POST "/api/v1/tapes/%01x/decrypt" "$VIEW"; expect_code 400 "a control byte in a path parameter: 400"

# --- decrypt: 403 for a viewer, then the operator
body "{\"password\": \"$WEB_TAPE_PW\"}"
req POST /api/v1/tapes/VT0001L9/decrypt "$VIEW" "$WORK/req.json"; expect_code 403 "a viewer may not decrypt: 403"
req POST /api/v1/backups/nightly/restore "$VIEW" "$WORK/req.json"; expect_code 403 "a viewer may not restore: 403"
body '{"password": "wrong one"}'
req POST /api/v1/tapes/VT0001L9/decrypt "$OP" "$WORK/req.json"; expect_code 422 "a wrong tape password: 422"
expect_out "wrong password" "it says so"
body '{"password": "a", "kms": "k"}'
req POST /api/v1/tapes/VT0001L9/decrypt "$OP" "$WORK/req.json"; expect_code 400 "password and kms together: 400"
body "{\"password\": \"$WEB_TAPE_PW\"}"
req POST /api/v1/tapes/VT0001L9/decrypt "$OP" "$WORK/req.json"; expect_code 200 "the operator decrypts with the password"
expect_out '"unlocked":true' "the tape is unlocked"
rm -f "$WORK/req.json"
req GET /api/v1/tapes "$OP"
check "the tape lists as unlocked" bash -c "printf '%s' '$BODY' | grep -q '\"locked\":false'"
req GET /api/v1/backups "$OP"
expect_out '"name":"nightly".*"state":"restorable"' "its backup set is restorable"
"$T" --home "$B" --json backups > "$WORK/cli-backups.json"
check "the API's backup set fields are the CLI's (ISO created, tapes as an array)" python3 - "$WORK/cli-backups.json" "$WORK/resp/$((N-1)).body" <<'PY'
import json, sys
cli = [b for b in json.load(open(sys.argv[1]))["backups"] if b["name"] == "nightly"][0]
api = [b for b in json.load(open(sys.argv[2]))["backups"] if b["name"] == "nightly"][0]
keys = ["id", "name", "pool", "created", "created_unix", "files", "bytes", "tapes", "state",
        "complete", "recovered", "bytes_on_tape"]
differ = [k for k in keys if cli.get(k) != api.get(k)]
assert not differ, (differ, cli, api)
assert isinstance(api["tapes"], list) and api["created"].endswith("Z"), api
PY
req GET /api/v1/backups/nightly/files "$OP"; expect_code 200 "files of the set"
expect_out "src/docs/report.txt" "the files are listed"
req GET "/api/v1/backups/nightly/files?limit=1&offset=1" "$OP"; expect_code 200 "files with limit and offset"
check "one file per page" bash -c "[ \"\$(printf '%s' '$BODY' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"files\"]))')\" = 1 ]"
req GET /api/v1/backups/nosuch/files "$OP"; expect_code 404 "an unknown set: 404"
tv "$B" restore nightly --to "$WORK/r1"; expect_rc 0 "the CLI restores after the API's decrypt"
check "byte-exact" same_tree src "$WORK/r1/$S/src"
start_job POST /api/v1/backups/nightly/restore "$OP" "{\"to\": \"$WORK/r2\"}"
expect_code 202 "the operator starts a restore through the API: 202"
check "it answers the job's id" test -n "$JOB"
wait_job "$JOB" "$OP"
check "the restore job ends ok" test "$STATE" = ok
check "byte-exact through the API too" same_tree src "$WORK/r2/$S/src"
check "the job says what it restored, and its progress reached its total" python3 - "$WORK/resp/$((N-1)).body" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "restore" and d["user"] == "op" and d["result"]["files"] >= 2, d
p = d["progress"]
assert p["bytes_total"] and p["bytes_done"] == p["bytes_total"] and p["bytes_done"] >= 200000, p
assert d["history_id"] and d["started"] and d["ended"] and d["problems"] == [], d
PY
start_job POST /api/v1/backups/nosuch/restore "$OP" "{\"to\": \"$WORK/r3\"}"
wait_job "$JOB" "$OP"
check "a restore of an unknown set: the job fails, 404 in error_status" bash -c \
	"[ '$STATE' = failed ] && printf '%s' '$BODY' | grep -q '\"error_status\":404'"
start_job POST /api/v1/backups/nightly/restore "$OP" '{"to": "relative"}'
expect_code 400 "a relative restore target: 400"
expect_out '"error":' "with a JSON error"

# --- the other jobs: find, catalog, inventory, verify, expire
start_job POST /api/v1/find "$VIEW" '{"patterns": ["*report*"]}'
expect_code 202 "a viewer starts a find: 202"
wait_job "$JOB" "$VIEW"
check "the find ends ok" test "$STATE" = ok
expect_out '"path":"[^"]*src/docs/report.txt"' "it finds the file"
start_job POST /api/v1/find "$VIEW" '{"patterns": ["*no-such-name*"]}'
wait_job "$JOB" "$VIEW"
check "a find that matches nothing: failed, 404, the pattern named" bash -c \
	"[ '$STATE' = failed ] && printf '%s' '$BODY' | grep -q '\"error_status\":404' && printf '%s' '$BODY' | grep -q 'no-such-name'"
start_job POST /api/v1/find "$VIEW" '{"patterns": []}'; expect_code 400 "find without a pattern: 400"
start_job POST /api/v1/find "$VIEW" '{"patterns": "x"}'; expect_code 400 "find with a pattern that is not a list: 400"
start_job POST /api/v1/find "" '{"patterns": ["*"]}'; expect_code 401 "find without a token: 401"
start_job POST /api/v1/catalog "$VIEW" '{"library": "lib"}'; expect_code 403 "a viewer may not catalog: 403"
start_job POST /api/v1/catalog "$OP" '{}'; expect_code 400 "catalog without a library: 400"
start_job POST /api/v1/catalog "$OP" '{"library": "lib", "barcodes": [1]}'; expect_code 400 "a barcode that is not a string: 400"
start_job POST /api/v1/catalog "$OP" '{"library": "lib", "barcodes": ["VT0001L9"]}'
expect_code 202 "the operator catalogs a tape: 202"
wait_job "$JOB" "$OP"
check "the catalog job ends ok" test "$STATE" = ok
expect_out '"result":{"library":"lib","tapes":\[\{"barcode":"VT0001L9"' "its result lists the tape"
expect_out '"items_done":1,"items_total":1' "its progress counted the tape"
start_job POST /api/v1/catalog "$OP" '{"library": "nolib"}'
wait_job "$JOB" "$OP"
check "catalog of an unknown library: the job fails with a JSON error" bash -c \
	"[ '$STATE' = failed ] && printf '%s' '$BODY' | grep -q '\"error\":\"[^\"]'"
start_job POST /api/v1/inventory "$OP" '{"library": "lib"}'
wait_job "$JOB" "$OP"
check "inventory ends ok" test "$STATE" = ok
start_job POST /api/v1/verify "$OP" '{"barcodes": ["VT0001L9"]}'
expect_code 202 "the operator verifies a tape: 202"
wait_job "$JOB" "$OP"
check "verify ends ok" test "$STATE" = ok
check "verify read the tape's bytes" bash -c "[ \"\$(printf '%s' '$BODY' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"result\"][\"bytes\"] > 200000)')\" = True ]"
start_job POST /api/v1/verify "$OP" '{}'; expect_code 400 "verify without barcodes: 400"
start_job POST /api/v1/verify "$VIEW" '{"barcodes": ["VT0001L9"]}'; expect_code 403 "a viewer may not verify: 403"
start_job POST /api/v1/verify "$OP" '{"barcodes": ["NOPE01L9"]}'
wait_job "$JOB" "$OP"
check "verify of an unknown tape: partial (as the CLI), and the problem names it" bash -c \
	"[ '$STATE' = partial ] && printf '%s' '$BODY' | grep -q '\"problems\":\[\"NOPE01L9: tape NOPE01L9 is in no library'"
start_job POST /api/v1/expire "$OP" '{"dry_run": true}'; expect_code 403 "expire is for admins: 403 to an operator"
login boss pw-boss; BOSS=$TOKEN
start_job POST /api/v1/expire "$BOSS" '{"dry_run": "yes"}'; expect_code 400 "dry_run must be a boolean: 400"
start_job POST /api/v1/expire "$BOSS" '{"dry_run": true}'
expect_code 202 "the admin starts expire --dry-run: 202"
wait_job "$JOB" "$BOSS"
expect_out '"result":{"expired":\[\],"dry_run":true,"count":0}' "nothing has expired (dry run)"
req GET /api/v1/jobs/abc "$VIEW"; expect_code 400 "a job id that is not a number: 400"
req GET /api/v1/jobs/999999 "$VIEW"; expect_code 404 "an unknown job: 404"
expect_out '"error":' "with a JSON error"
req GET /api/v1/jobs/1 ""; expect_code 401 "a job without a token: 401"
req GET /api/v1/jobs "$OP"
expect_out '"kind":"verify".*web user op' "the verify is in the job history with its web user"
req GET /api/v1/audit "$OP"
expect_out '"action":"web verify"' "the web verify is audited"
req GET /api/v1/jobs "$OP"
expect_out '"kind":"decrypt".*web user op' "the decrypt is in the job history, with the console user"
req GET /api/v1/audit "$OP"; expect_code 200 "the operator reads the audit log"
expect_out '"action":"web decrypt"' "the web decrypt is audited"

# --- users, over the API: admins only
req GET /api/v1/users ""; expect_code 401 "users without a token: 401"
req GET /api/v1/users "$OP"; expect_code 403 "an operator may not list users: 403"
req GET /api/v1/users "$VIEW"; expect_code 403 "a viewer may not list users: 403"
req GET /api/v1/users "$BOSS"; expect_code 200 "the admin lists users"
expect_out '"name":"boss","role":"admin"' "with names and roles"
check "no password hash in the list" bash -c "! printf '%s' '$BODY' | grep -q argon2"
body '{"name":"clerk","role":"viewer","password":"clerk pass 8Hh"}'
req POST /api/v1/users "$OP" "$WORK/req.json"; expect_code 403 "an operator may not add users: 403"
req POST /api/v1/users "$BOSS" "$WORK/req.json"; expect_code 201 "the admin adds a user: 201"
req POST /api/v1/users "$BOSS" "$WORK/req.json"; expect_code 409 "a name taken: 409"
expect_out '"error":"user .clerk. exists already"' "it says so"
body '{"name":"x","role":"root","password":"p"}'
req POST /api/v1/users "$BOSS" "$WORK/req.json"; expect_code 400 "an unknown role: 400"
body '{"name":"bad name","role":"viewer","password":"p"}'
req POST /api/v1/users "$BOSS" "$WORK/req.json"; expect_code 400 "a bad user name: 400"
body '{"name":"y","role":"viewer"}'
req POST /api/v1/users "$BOSS" "$WORK/req.json"; expect_code 400 "no password: 400"
secret pw-clerk "clerk pass 8Hh"
login clerk pw-clerk; CLERK=$TOKEN
check "the new user logs in" test "$CODE" = 200
body '{"role":"operator"}'
req PUT /api/v1/users/clerk "$BOSS" "$WORK/req.json"; expect_code 200 "the admin makes clerk an operator"
req GET /api/v1/me "$CLERK"; expect_code 401 "clerk's old token is forgotten"
login clerk pw-clerk; CLERK=$TOKEN
req GET /api/v1/me "$CLERK"; expect_out '"role":"operator"' "clerk logs in again as an operator"
body '{"password":"clerk new 2Wq"}'
req PUT /api/v1/users/clerk "$BOSS" "$WORK/req.json"; expect_code 200 "the admin sets clerk's password"
login clerk pw-clerk
check "the old password no longer logs in" test "$CODE" = 401
body '{}'
req PUT /api/v1/users/clerk "$BOSS" "$WORK/req.json"; expect_code 400 "a change of nothing: 400"
body '{"role":"viewer"}'
req PUT /api/v1/users/nobody "$BOSS" "$WORK/req.json"; expect_code 404 "changing an unknown user: 404"
req PUT /api/v1/users/boss "$BOSS" "$WORK/req.json"; expect_code 409 "the last admin cannot be demoted: 409"
req DELETE /api/v1/users/boss "$BOSS"; expect_code 409 "the last admin cannot be removed: 409"
req DELETE /api/v1/users/clerk "$OP"; expect_code 403 "an operator may not remove users: 403"
req DELETE /api/v1/users/clerk "$BOSS"; expect_code 200 "the admin removes clerk"
req DELETE /api/v1/users/clerk "$BOSS"; expect_code 404 "removing it again: 404"
req GET /api/v1/me "$CLERK"; expect_code 401 "a removed user's token is refused"
tv "$B" audit; expect_out "web user add .*by web user 'boss'.*'clerk'" "user changes are audited with the admin"
expect_out "web user remove .*'clerk': ok" "the removal too"

# --- escrow over the API: admins only
req POST /api/v1/escrow/request "" ; expect_code 401 "escrow request without a token: 401"
body '{"barcodes":["VT0001L9"]}'
req POST /api/v1/escrow/request "$OP" "$WORK/req.json"; expect_code 403 "an operator may not make escrow requests: 403"
req POST /api/v1/escrow/request "$BOSS" "$WORK/req.json"; expect_code 404 "a tape without an escrow slot: no request (404)"
expect_out "no tape with an escrow slot" "it says why"
expect_out '"problems":\["VT0001L9: no escrow slot' "the answer names the tape's problem"
body '{"barcodes":[]}'
req POST /api/v1/escrow/request "$BOSS" "$WORK/req.json"; expect_code 400 "no barcodes: 400"
body '{"response":"not an escrow response"}'
req POST /api/v1/escrow/response "$VIEW" "$WORK/req.json"; expect_code 403 "a viewer may not apply escrow responses: 403"
req POST /api/v1/escrow/response "$BOSS" "$WORK/req.json"
check "a response that is not one: a 4xx with a JSON error" bash -c "[[ '$CODE' =~ ^4 ]] && printf '%s' '$BODY' | grep -q '\"error\":'"
check "the error does not name the server's scratch file" bash -c "! printf '%s' '$BODY' | grep -q escrow-"
body '{}'
req POST /api/v1/escrow/response "$BOSS" "$WORK/req.json"; expect_code 400 "no response: 400"
check "the scratch directories are gone" bash -c "! ls '$B/web' | grep -q '^escrow-'"
# the whole flow: an escrow-protected tape of A, locked in B; B's admin
# downloads a request, the authority answers, the admin uploads the answer
secret app "authority passphrase"
AUTH=$WORK/auth; "$T" --home "$AUTH" -q init
"$T" --home "$AUTH" -q escrow keygen --out "$WORK/ks.pem" --password-file app >/dev/null
"$T" --home "$AUTH" -q escrow public "$WORK/ks.pem" --out "$WORK/pub.pem" --password-file app >/dev/null
"$T" --home "$A" -q escrow enable --public "$WORK/pub.pem" >/dev/null
"$T" --home "$A" -q tape new lib VT0002L9 --capacity 64M
"$T" --home "$A" -q pool create safe --library lib --encryption password:p1 2>/dev/null
"$T" --home "$A" -q write safe src --name protected >/dev/null
"$T" --home "$A" -q tape export VT0002L9 --to "$WORK/box"
"$T" --home "$B" -q tape insert lib "$WORK/box/VT0002L9.tap" 2>/dev/null
"$T" --home "$B" -q catalog lib >/dev/null 2>&1
body '{"barcodes":["VT0002L9"]}'
req POST /api/v1/escrow/request "$BOSS" "$WORK/req.json"; expect_code 200 "the admin downloads an escrow request for a locked tape"
json 'd["request"]' > "$WORK/escrow-req.txt"
check "it is a signed tapevault request, with a file name" bash -c \
	"grep -q 'BEGIN TAPEVAULT ESCROW REQUEST' '$WORK/escrow-req.txt' && printf '%s' '$BODY' | grep -q '\"filename\":\"escrow-request-[0-9]*.txt\"'"
"$T" --home "$B" -q identity export --out "$WORK/b-id.pub" >/dev/null
"$T" --home "$AUTH" -q escrow trust add "$WORK/b-id.pub" --name b >/dev/null
tv "$AUTH" escrow respond --keyset "$WORK/ks.pem" "$WORK/escrow-req.txt" --out "$WORK/escrow-resp.txt" --password-file app --yes
expect_rc 0 "the authority answers the request made through the API"
python3 -c 'import json,sys; print(json.dumps({"response": open(sys.argv[1]).read()}))' "$WORK/escrow-resp.txt" > "$WORK/req.json"
req POST /api/v1/escrow/response "$OP" "$WORK/req.json"; expect_code 403 "an operator may not apply it: 403"
req POST /api/v1/escrow/response "$BOSS" "$WORK/req.json"; expect_code 200 "the admin uploads the response: applied"
req GET "/api/v1/tapes?state=locked" "$VIEW"
check "VT0002L9 is no longer locked" bash -c "! printf '%s' '$BODY' | grep -q VT0002L9"
req GET /api/v1/backups "$VIEW"; expect_out '"name":"protected"' "its set is cataloged"
req POST /api/v1/escrow/response "$BOSS" "$WORK/req.json"; expect_code 422 "a second apply: 422"
expect_out "applied already" "it says so"
tv "$B" audit; expect_out "web escrow apply .*'boss'" "the apply is audited with the admin"

# --- an expired token: a server whose tokens live 3 seconds
web_start E "$B" --token-ttl 3 || fail "second server"
SAVE=$URL; URL=$E_URL
login view pw-view; SHORT=$TOKEN
req GET /api/v1/tapes "$SHORT"; expect_code 200 "a fresh token works"
sleep 4
req GET /api/v1/tapes "$SHORT"; expect_code 401 "an expired token: 401"
expect_out "expired" "it says the token expired"
kill "$E_PID"; wait "$E_PID" 2>/dev/null
URL=$SAVE
req POST /api/v1/logout "$VIEW"; expect_code 200 "logout"
req GET /api/v1/tapes "$VIEW"; expect_code 401 "a token logged out is refused"

# --- the login brake: 5 failures of a name within a minute
body '{"user":"view","password":"wrong"}'
for i in 1 2 3 4 5; do req POST /api/v1/login "" "$WORK/req.json"; done
expect_code 401 "five wrong passwords: 401 each"
login view pw-view
check "the sixth login, even with the right password, is refused (429)" test "$CODE" = 429
login op pw-op
check "another user still logs in" test "$CODE" = 200
tv "$B" audit; expect_out "web login .*too many failed logins" "the refusal is audited"

# --- no secret in any response, nor in the server's log
secrets=("$WEB_TAPE_PW" "operator secret 3Kd" "viewer secret 9Lm" "admin secret 5Rt" "clerk pass 8Hh" "clerk new 2Wq")
leak=0
for s in "${secrets[@]}"; do
	grep -rlF -- "$s" "$WORK/resp" "$WORK/S.log" "$WORK/E.log" && leak=1
done
check "no password in any recorded response or log ($N responses)" test "$leak" = 0
check "no token in the responses other than its own login answer, nor in logs" bash -c \
	"! grep -rlF -e '$OP' -e '$VIEW' '$WORK/resp' '$WORK/S.log' '$WORK/E.log' '$WORK/login-view.body'"
check "no key bytes (long hex other than the fingerprint) in any response" python3 - "$WORK/resp" <<'PY'
import json, os, re, sys
d = sys.argv[1]
fprs = set()
for f in os.listdir(d):
    if f.endswith(".body"):
        t = open(os.path.join(d, f), errors="replace").read()
        for m in re.findall(r'"key_fingerprint":"([0-9a-f]*)"', t):
            fprs.add(m)
        for m in re.findall(r'request ([0-9a-f]{32})\b', t):   # an escrow request's id
            fprs.add(m)
for f in os.listdir(d):
    for m in re.findall(r'[0-9a-fA-F]{32,}', open(os.path.join(d, f), errors="replace").read()):
        assert m in fprs, (f, m)
PY
check "no secret in the catalog or the job log" bash -c "! grep -rqF -e '$WEB_TAPE_PW' -e 'operator secret 3Kd' '$B/catalog.db' '$B/log'"

# --- a port in use is an error
tv "$B" serve --listen "${URL#https://}"; expect_rc 1 "a port in use: exit 1"
kill "$S_PID"; wait "$S_PID" 2>/dev/null
check "the server stops on SIGTERM" bash -c "grep -q 'stopping (SIGTERM)' '$WORK/S.log'"
check "no sanitizer report in the servers' logs (ASan build: leaks at exit too)" bash -c \
	"! grep -E 'Sanitizer|runtime error' '$WORK/S.log' '$WORK/E.log'"
finish

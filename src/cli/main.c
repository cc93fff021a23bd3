/* tapevault: command-line entry point (git-style subcommands). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "crypto/pkey.h"
#include "crypto/secmem.h"
#include "format/format.h"
#include "format/record.h"
#include "jobs/history.h"
#include "util/err.h"
#include "util/progress.h"
#include "util/stop.h"

/* --trust-writer FPR (jobs/writer.h): on the commands that read tapes or
 * backup files written elsewhere; cli_open hands them to the home. */
#define CLI_OPT_TRUST_WRITER 0x7101
static char *trust_writer[16];
static size_t ntrust_writer;
static int ask_writer(void *ctx, const char *question);

const struct cli_cmd cli_commands[] = {
	{"init", cmd_init, "[--catalog URL]",
	 "Create the state directory: catalog and key store.  The catalog is SQLite in the\n"
	 "state directory unless --catalog says otherwise: sqlite:PATH, or a PostgreSQL\n"
	 "connection URI (postgresql://[user@]host[:port]/db?..., as libpq takes it; keep a\n"
	 "password out of it: ~/.pgpass or PGPASSFILE) for a site whose tape servers share\n"
	 "one catalog: every state directory initialised with the same URI is one tape\n"
	 "server of that site.  Without --catalog, TAPEVAULT_CATALOG (if set) names it.  The\n"
	 "key store always stays in the state directory."},
	{"library create", cmd_library_create,
	 "NAME --path DIR --slots N [--drives N] [--mailslots N] [--scsi-emulation]",
	 "Create a virtual tape library (a directory of tape images) and register it.\n"
	 "--scsi-emulation: an emulated SCSI library instead, its changer and drives answering\n"
	 "the SCSI commands of a real one in-process (SMC-3 changer, SSC-4 LTO drives with\n"
	 "hardware encryption), so everything runs the code real hardware runs; the\n"
	 "cartridges are tape images in DIR all the same.  For tests and demonstrations."},
	{"library add", cmd_library_add, "NAME --changer /dev/sgN --drive DEV [--drive DEV...] [--path DIR]",
	 "Register a real SCSI tape library: the changer's sg device (see 'lsscsi -g') and its\n"
	 "drives in the order of the changer's data transfer elements, each /dev/nstN (the st\n"
	 "driver) or /dev/sgN (SCSI commands over SG_IO: needed for LOCATE positioning and\n"
	 "hardware encryption).  The changer is asked what it holds; the configuration is kept\n"
	 "in DIR (default: the state directory's libraries/NAME).  Blank cartridges are\n"
	 "registered with 'tapevault tape new LIBRARY BARCODE...' (they must be in the library);\n"
	 "tools/hwtest.sh checks a library step by step."},
	{"library attach", cmd_library_attach, "NAME --path DIR",
	 "Register an existing library directory (after the catalog was lost, or on a second\n"
	 "tape server); then 'tapevault catalog NAME' reads its tapes."},
	{"library list", cmd_library_list, "", "List registered libraries."},
	{"library status", cmd_library_status, "NAME [--scan]",
	 "Slots, drives, mail slots and barcodes, in the style of 'mtx status'.  Of a SCSI\n"
	 "library, what its changer reports (a cartridge whose label it cannot read is shown\n"
	 "with the changer's reason); --scan makes the changer check every element again\n"
	 "first (INITIALIZE ELEMENT STATUS: it scans the labels, which takes a while)."},
	{"tape new", cmd_tape_new, "LIBRARY BARCODE... [--capacity SIZE]",
	 "Put blank virtual cartridges into free slots (barcode: 6 characters + media id, e.g. VT0001L9).\n"
	 "Of a real SCSI library: register cartridges that are in it as blank (to be written)."},
	{"tape export", cmd_tape_export, "BARCODE... --to DIR",
	 "Take cartridges out of their library: the image files move to DIR."},
	{"tape insert", cmd_tape_insert, "LIBRARY FILE... [--copy]",
	 "Put cartridges (tape images) into a library: through a mail slot into a free slot.\n"
	 "The image files move into the library directory (--copy leaves them where they are)."},
	{"tape list", cmd_tape_list, "[--pool P] [--state S]",
	 "Tapes: barcode, state, pool, media set and sequence, encryption, where the cartridge\n"
	 "is, used space, when it was last written and when its data expires (its pool's\n"
	 "retention after its media set's newest backup set; '-': kept for ever), and how to\n"
	 "unlock it.  --json: used in bytes, last_written and expires in ISO 8601 (or null)."},
	{"tape show", cmd_tape_show, "BARCODE", "Everything known about one tape."},
	{"tape dump", cmd_tape_dump, "FILE", "Decode a tape image's labels and structure (debugging)."},
	{"tape retire", cmd_tape_retire, "BARCODE",
	 "Never write the tape again (state retired): a write neither appends to it nor takes\n"
	 "it as a new tape; its data stays restorable until its media set expires."},
	{"tape erase", cmd_tape_erase, "BARCODE [--force] [--yes]",
	 "Unlabel a cartridge: it is rewound and erased (blank, as new) and the catalog forgets\n"
	 "what was on it: backup sets that lived only on it leave the catalog, a set that spans\n"
	 "it and other tapes stays but is incomplete (a tape missing), its media set takes no\n"
	 "more data, the tape becomes a blank free tape of no pool (a retired one stays\n"
	 "retired), and the audit log records it.  A tape holding data that has not expired\n"
	 "(its media set is within its pool's retention, or the pool keeps it for ever) is\n"
	 "refused unless --force.  Asks for confirmation on the terminal unless --yes; with\n"
	 "no terminal and no --yes it refuses (exit 1)."},
	{"tape load", cmd_tape_load, "LIBRARY BARCODE [--drive N]",
	 "Load a cartridge into a drive (the first empty one without --drive)."},
	{"tape unload", cmd_tape_unload, "LIBRARY [--drive N]",
	 "Unload a drive (every loaded drive without --drive): the cartridge goes back to the\n"
	 "slot it came from, or the first free one.  A drive ejects before the robot takes it."},
	{"tape move", cmd_tape_move, "LIBRARY FROM TO",
	 "Move a cartridge, mtx-style: FROM and TO are slot:N, drive:N or mail:N; FROM may be\n"
	 "a barcode."},
	{"password add", cmd_password_add, "NAME --hint TEXT [--password-file F] [--kdf pbkdf2|argon2id]",
	 "Add a named password for encrypted pools (the password is read from the file,\n"
	 "$TAPEVAULT_PASSWORD, or the terminal; never from the command line), kept sealed by\n"
	 "the key store.  Each writing job derives its key-encryption key once, with a fresh\n"
	 "salt (PBKDF2-HMAC-SHA256 at 600,000 iterations by default, or Argon2id), for all the\n"
	 "tapes it writes."},
	{"password list", cmd_password_list, "", "List passwords (name, hint, creation time)."},
	{"kms add", cmd_kms_add, "NAME --host H [--port 5696] --ca CA.pem --cert CLIENT.pem --key CLIENT.key",
	 "Register a KMIP key management server."},
	{"kms list", cmd_kms_list, "", "List registered KMS servers."},
	{"kms test", cmd_kms_test, "NAME", "Connect to a KMS, report protocol versions and operations."},
	{"kms key create", cmd_kms_key_create, "SERVER --name KEYNAME [--type aes|rsa]",
	 "Create a key on the KMS; prints its unique id."},
	{"kms key revoke", cmd_kms_key_revoke, "SERVER KEYID [--yes]",
	 "Revoke a key on the KMS (it can no longer unwrap: tapes under it need escrow or another slot)."},
	{"kms key destroy", cmd_kms_key_destroy, "SERVER KEYID [--yes]",
	 "Destroy a (revoked) key on the KMS.  Data under it is then recoverable only through escrow."},
	{"escrow keygen", cmd_escrow_keygen, "--out KEYSET.pem [--password-file F]",
	 "Escrow authority: make a key set (RSA-4096, private key encrypted with a passphrase)."},
	{"escrow public", cmd_escrow_public, "KEYSET.pem --out PUB.pem",
	 "Export the public key of a key set."},
	{"escrow enable", cmd_escrow_enable, "--public PUB.pem",
	 "Backup server: turn on password loss protection for tapes written from now on."},
	{"escrow request", cmd_escrow_request, "BARCODE... --out REQUEST.txt [--allow-partial]",
	 "Make a recovery request for the escrow authority."},
	{"escrow respond", cmd_escrow_respond,
	 "--keyset KEYSET.pem [--keyset OLD.pem...] REQUEST.txt --out RESPONSE.txt [--password-file F]\n"
	 "     [--trust-new] [--max-age DAYS] [--yes]",
	 "Authority side: verify a request, show it (tapes, pools, requesting installation and its\n"
	 "identity fingerprint), confirm, answer.  With several key sets (rotation) the one the\n"
	 "tapes' escrow slots name is used (they share the passphrase).  Only requests signed by\n"
	 "an installation identity on the trust list ('escrow trust add') are answered;\n"
	 "--trust-new shows an unknown identity's fingerprint, asks, and adds it to the list.\n"
	 "Requests older than --max-age days (default 30), or dated more than 10 minutes in the\n"
	 "future, are refused."},
	{"escrow trust add", cmd_escrow_trust_add, "IDENTITY.pub [--name INSTALLATION]",
	 "Authority side: trust the requests of the installation whose identity this is (the file\n"
	 "'tapevault identity export' writes there; compare the fingerprint it prints with the\n"
	 "one shown here by another channel).  Needs 'tapevault init' on the authority's machine."},
	{"escrow trust list", cmd_escrow_trust_list, "",
	 "Authority side: the installation identities whose requests are answered."},
	{"escrow trust remove", cmd_escrow_trust_remove, "SHA256:FINGERPRINT",
	 "Authority side: stop answering an installation's requests."},
	{"identity export", cmd_identity_export, "--out IDENTITY.pub",
	 "Write this installation's signing identity (its Ed25519 public key) for the escrow\n"
	 "authority's trust list, or for another installation that reads this one's tapes\n"
	 "('identity trust' there); prints its fingerprint."},
	{"identity trust", cmd_identity_trust, "IDENTITY.pub",
	 "Accept the tapes the installation whose identity this is writes (the file 'tapevault\n"
	 "identity export' writes there); prints its fingerprint: compare it with the one shown\n"
	 "there.  Every installation signs the tapes it writes; the contents of a tape by an\n"
	 "installation neither this one nor trusted are cataloged only once the operator\n"
	 "confirms (on a terminal, or --trust-writer FPR to catalog, decrypt, escrow apply)."},
	{"identity list", cmd_identity_list, "[--json]",
	 "This installation's identity and the trusted writers, by fingerprint."},
	{"escrow apply", cmd_escrow_apply, "RESPONSE.txt", "Unlock tapes with a response and catalog them."},
	{"escrow recover", cmd_escrow_recover, "--keyset KEYSET.pem BARCODE... [--password-file F]",
	 "Break-glass recovery on the authority's own machine."},
	{"audit", cmd_audit, "", "Who used which key path on which tapes, when."},
	{"pool create", cmd_pool_create,
	 "NAME --library LIB [--encryption none|password:NAME|kms:SERVER[:KEYID]] [--media-set continue|per-job]\n"
	 "     [--compression zstd[:LEVEL]|none] [--drive-encryption on|off] [--retention DURATION]",
	 "Create a media pool.  Data is compressed before it is encrypted (default zstd:1, a\n"
	 "level two cores keep up with at LTO speed; data that does not compress is stored as\n"
	 "it is)."},
	{"pool set", cmd_pool_set,
	 "NAME [--encryption ...] [--compression zstd[:LEVEL]|none] [--drive-encryption on|off]\n"
	 "     [--retention DURATION]",
	 "Change the pool's key or encryption method (applies to tapes written from now on), or\n"
	 "its compression.  --drive-encryption on: LTO hardware encryption for tapes written\n"
	 "from now on: the drive encrypts the data records (AES-256-GCM, a key derived from the\n"
	 "tape's own data key, the key's fingerprint recorded with every record), the labels\n"
	 "stay clear, the tape's key slots are as for software encryption (which stays on too:\n"
	 "the format is unchanged), so a fresh installation unlocks the tape as always and then\n"
	 "gives the drive its key.  Needs a pool with --encryption and a SCSI library.\n"
	 "--retention DURATION (30d, 12h, 90m, 10s, 2w; keep: for ever, the default): how long\n"
	 "a media set is kept after its newest backup set; 'tapevault expire' frees what is\n"
	 "past it."},
	{"expire", cmd_expire, "[--dry-run]",
	 "Free the media sets past their pool's retention (pool create/set --retention): those\n"
	 "whose newest backup set is older than it.  Their backup sets leave the catalog, their\n"
	 "tapes become free tapes of the pool (a write labels them anew; a retired tape stays\n"
	 "retired), the media set is closed, and the audit log records it.  --dry-run lists\n"
	 "what would expire (pool, media set, its newest backup, when it expired, sets, tapes)\n"
	 "and changes nothing."},
	{"pool list", cmd_pool_list, "", "List media pools."},
	{"pool show", cmd_pool_show, "NAME", "Show one media pool and its tapes."},
	{"write", cmd_write,
	 "POOL PATH... [--name SETNAME] [--level full|incremental|differential]\n"
	 "     [--exclude GLOB]... [--exclude-from FILE] [--one-file-system] [--allow-partial]\n"
	 "     [--record-size SIZE] [--tape-file-size SIZE] [--no-xattrs]",
	 "Backup-to-tape job: write files and directories to the pool; prints the backup set id.\n"
	 "Everything a file system holds is stored: hard links once, sparse files without their\n"
	 "holes, FIFOs and device nodes, owner and group names with the ids, and extended\n"
	 "attributes of every namespace this user may read (trusted.* as root), which carry\n"
	 "POSIX ACLs, SELinux labels and file capabilities; --no-xattrs leaves those out.\n"
	 "Sockets are not stored (a note says so).  Entries are packed into full records; a\n"
	 "tape file ends after --tape-file-size bytes (default 4G: a drive streams between\n"
	 "filemarks), and --record-size (default 256K, 64K..4M) applies to new tapes.\n"
	 "A file that changes while it is read (its size, modification or change time differ\n"
	 "at the end of the read; of a file that grows, the bytes up to its size at the open\n"
	 "are stored), and an item skipped or unreadable, is named; the set is marked partial\n"
	 "('tapevault backups SET' lists them) and the job exits 1 unless --allow-partial.\n"
	 "SIGINT or SIGTERM stops the job cleanly: the item being read is left out, the tape\n"
	 "gets its catalog and stays appendable, the set is marked interrupted, exit 130 (a\n"
	 "second signal ends it at once).\n"
	 "--level (default full): incremental stores what changed since the newest set of the\n"
	 "same --name in the pool (any level), differential what changed since its newest\n"
	 "full; both need --name.  An item is unchanged when its type, size, modification and\n"
	 "change times (with nanoseconds) and inode are as the catalog recorded (a file with\n"
	 "several hard links is always stored again).  Deletions are recorded: restoring the\n"
	 "set gives the tree as it was at that backup, reading unchanged files from the\n"
	 "earlier sets' tapes.  Without an earlier set, the backup is a full one and says so.\n"
	 "--exclude GLOB (repeatable) leaves out every item whose absolute source path, or\n"
	 "whose base name, matches GLOB (fnmatch: '*', '?', '[...]'; '*' also matches '/'),\n"
	 "a directory with everything under it: --exclude '*.o', --exclude /home/u/.cache.\n"
	 "--exclude-from FILE reads globs, one a line ('#' comment lines and blank lines are\n"
	 "ignored); a file that cannot be read is a usage error.  --one-file-system does not\n"
	 "descend into directories on another file system (the mount point itself is stored,\n"
	 "as tar does).  The tapevault home directory and catalog are never backed up into\n"
	 "themselves: they are left out, said once."},
	{"inventory", cmd_inventory, "LIBRARY [BARCODE...] [--include-expired]",
	 "Read tape labels only."},
	{"catalog check", cmd_catalog_check, "",
	 "Check the consistency of the catalog: the database itself (pages, indexes, foreign\n"
	 "keys), tapes and backup sets against their pools and media sets, items and parts\n"
	 "against their sets' tapes, complete sets against what the catalog holds of them,\n"
	 "tape keys against the tapes' fingerprints.  Prints each problem; exit 1 if any.  A\n"
	 "catalog that knows only some tapes of a media set is consistent."},
	{"catalog", cmd_catalog, "LIBRARY [BARCODE...] [--allow-partial] [--include-expired]",
	 "Catalog job: read labels and on-tape catalogs, decrypt what can be, report the rest.\n"
	 "A tape whose media set expired here ('expire') and that was not written anew since\n"
	 "stays a free tape: its old sets are not cataloged again unless --include-expired."},
	{"decrypt", cmd_decrypt, "BARCODE... (--password-file F | --kms SERVER [--key-id ID]) [--yes]",
	 "Unlock imported encrypted tapes (shows the key id and KMS server, or the hint, first)."},
	{"backups", cmd_backups, "[SET]",
	 "Backup sets on tape and whether they can be restored.  STATE: restorable, or what\n"
	 "stands in the way or what became of the set's job: partial (some items were not stored\n"
	 "whole: skipped, unreadable or changed while read), interrupted (its job was stopped or\n"
	 "killed: what it wrote restores), failed, running, incomplete (tapes missing), tape\n"
	 "encrypted, backup encrypted, offline.  With SET (id, id prefix or name): that set and\n"
	 "the items not stored whole, with why.  --json: also \"status\" (complete | partial |\n"
	 "interrupted | failed | running) and \"problems\" ([{\"path\", \"reason\"}])."},
	{"files", cmd_files, "SET [PATH|GLOB...]",
	 "The items of a backup set, ls -l style: type and mode, owner/group, size, mtime\n"
	 "(ISO 8601, UTC) and stored path (symbolic links with their target).  SET is the set's\n"
	 "name or (a prefix of) its id.  PATH and GLOB select as restore does: a path names\n"
	 "itself and everything under it, a glob is a shell pattern ('*' stays within one\n"
	 "component) selecting what it matches and everything under that; a leading '/' is\n"
	 "ignored (stored paths have none).  Without them, the whole set in stored order.  A\n"
	 "PATH or GLOB that matches nothing is named and the command exits 1.  Nothing is read\n"
	 "from tape."},
	{"find", cmd_find, "GLOB... [--set SET]",
	 "Every stored version of the matching paths across all backup sets (or one, --set):\n"
	 "set id and name, the set's date, size, mtime, the tapes holding the item, and its\n"
	 "path.  A GLOB with a '/' is matched against whole stored paths ('*' stays within one\n"
	 "component: 'home/*/.bashrc'); one without, against the last component, as find -name\n"
	 "does ('*.conf', 'passwd').  A glob that starts with a literal part is looked up in\n"
	 "an index: it answers in well under a second whatever the catalog's size.  A GLOB\n"
	 "that matches nothing is named and the command exits 1."},
	{"servers", cmd_servers, "",
	 "The tape servers of a shared (PostgreSQL) catalog: each home initialised with the\n"
	 "same catalog URI, when it was last seen, whether it is live (seen within the lease\n"
	 "time), and the leases its running jobs hold (drives, tapes, media sets, jobs).\n"
	 "Leases not renewed in time are released first, and the sets of their jobs marked\n"
	 "failed.  On an installation's own SQLite catalog there is one server: says so."},
	{"jobs", cmd_jobs, "[--limit N]",
	 "The job history, newest first: id, kind (write, restore, verify, catalog, inventory,\n"
	 "decrypt, escrow apply, ...), start (ISO 8601, UTC), duration, files, bytes, rate,\n"
	 "result (ok, partial, failed, interrupted, running) and warnings, with the operands\n"
	 "and the error of a failed job.  --limit N: the last N jobs only.  With --json,\n"
	 "duration is in seconds and rate in bytes per second (null while not known)."},
	{"restore", cmd_restore,
	 "SET [PATH|GLOB...] (--to DIR | --to-original) [--overwrite never|always|if-newer]\n"
	 "     [--extract [--password-file F]] [--no-xattrs] [--numeric-owner] [--allow-partial]\n"
	 "     [--dry-run]",
	 "Restore a whole backup set, or the items matching PATH or GLOB (a path names\n"
	 "itself and everything under it; a glob is a shell pattern, '*' stays within one\n"
	 "component).  SET is the backup set's name or (a prefix of) its id.  Stored paths\n"
	 "are the source's absolute path without the leading '/', so /a/x and /b/x never\n"
	 "collide: --to DIR recreates them under DIR, --to-original puts them back where they\n"
	 "came from.  --overwrite: never (default: an existing file is kept and named),\n"
	 "always (replaced atomically), if-newer (replaced when the stored copy is newer).\n"
	 "A PATH or GLOB that matches nothing, an existing file kept, or an item that cannot\n"
	 "be restored is named and the job exits 1 unless --allow-partial; a full target\n"
	 "file system stops the job with one message.  --extract also opens job-encrypted\n"
	 "backup files it restored (double encryption) into FILE.extracted/, with the\n"
	 "password from --password-file, a registered KMS, or a stored password.\n"
	 "Items come back with their holes, hard links, owners, modes, times and extended\n"
	 "attributes (ACLs, SELinux labels and capabilities among them, set after owner and\n"
	 "mode); --no-xattrs leaves those out.  Owners are mapped by name where the name\n"
	 "exists here (as tar does), else by the stored id; --numeric-owner keeps the ids.\n"
	 "Owners are set only as root, device nodes are made only as root; a device node that\n"
	 "cannot be made, or an extended attribute the file system refuses, is named and\n"
	 "counts as not restored.\n"
	 "--dry-run reads nothing and writes nothing (--to is then optional): it lists the\n"
	 "items that would be restored (as 'files' does) and the tapes needed, each with where\n"
	 "the cartridge is (library slot, drive or mail slot, or exported) and whether it is\n"
	 "locked; a PATH or GLOB that matches nothing is named and it exits 1."},
	{"verify", cmd_verify, "BARCODE...", "Read back every record of the tapes and check it."},
	{"backup create", cmd_backup_create,
	 "SOURCE... --out FILE [--encryption password:NAME|kms:SERVER[:KEYID]]",
	 "Make a disk backup file (pax archive in authenticated encrypted chunks), signed with\n"
	 "this installation's writer identity (header and whole file)."},
	{"backup extract", cmd_backup_extract,
	 "FILE --to DIR [--password-file F | --kms SERVER] [--trust-writer FPR|unsigned]",
	 "Open a disk backup file into DIR.  The file must be signed by this installation or a\n"
	 "trusted writer ('identity trust', or --trust-writer FPR for this run); an unsigned\n"
	 "(older) file needs --trust-writer unsigned.  What it holds appears in DIR only once the\n"
	 "whole file has been verified."},
	{"config backup", cmd_config_backup,
	 "--to FILE --encryption password:NAME|kms:SERVER[:KEYID]",
	 "Back up this backup server's own state in one encrypted file: the catalog (libraries,\n"
	 "pools, tapes, backup sets, and the stored passwords, KMS registrations and tape keys,\n"
	 "sealed) and the key store.  With escrow on, the file also gets an escrow slot.\n"
	 "Keep it away from the server; 'config restore' on a fresh machine brings everything\n"
	 "back without a tape catalog run."},
	{"config restore", cmd_config_restore, "FILE [--password-file F]",
	 "Restore a configuration backup into a fresh installation (no state directory yet, or\n"
	 "one 'init' made and nothing was added to): the catalog and key store come back, every\n"
	 "backup set is listed and restores without a catalog run.  A password-protected file\n"
	 "asks for its password (or reads the first line of --password-file); a plaintext\n"
	 "file is refused."},
	{"user add", cmd_user_add, "NAME [--password-file F] [--role admin|operator|viewer]",
	 "Add a user of the web console and REST API ('tapevault serve').  The password (from\n"
	 "the file, $TAPEVAULT_PASSWORD, or the terminal, asked twice) is kept as an Argon2id\n"
	 "hash.  Roles: viewer (default) sees libraries, pools, tapes, backup sets, files and\n"
	 "jobs; operator also decrypts tapes, restores and reads the audit log; admin may do\n"
	 "everything."},
	{"serve", cmd_serve, "[--listen ADDR:PORT] [--tls-cert F --tls-key F]",
	 "Serve the web console (at /) and the REST API (under /api/v1, docs/api.yaml) over\n"
	 "HTTPS, on 127.0.0.1:8443 by default (port 0: any free port, said on stderr).\n"
	 "Without --tls-cert/--tls-key a self-signed certificate is made at first start in\n"
	 "the state directory (web/tls.crt, its key web/tls.key readable by the owner only);\n"
	 "its fingerprint is printed, to check in the browser.  POST /api/v1/login\n"
	 "{\"user\", \"password\"} gives a token that expires after an hour; every other\n"
	 "route needs 'Authorization: Bearer TOKEN'.  Five failed logins of one user within a\n"
	 "minute block that user for the rest of the minute; failures are in the audit log.\n"
	 "Jobs started from the console (decrypt, restore) run in this process, one at a time.\n"
	 "--insecure-http serves plain HTTP: for tests only.  Stops on SIGINT or SIGTERM."},
	{NULL, NULL, NULL, NULL},
};

static void global_usage(FILE *f)
{
	fprintf(f,
	        "usage: tapevault [--home DIR] [--json] [-q|--quiet] [-v|--verbose] [--progress]\n"
	        "                 COMMAND [ARGS]\n"
	        "\n"
	        "Tape backup with per-tape encryption keys held in a KMS (KMIP), in\n"
	        "passwords, or in escrow.  Commands:\n\n");
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		fprintf(f, "  %-16s %s\n", c->name, c->usage);
	fprintf(f,
	        "\nState: --home DIR, else $TAPEVAULT_HOME, else as root " TV_HOME_SYSTEM ",\n"
	        "else $XDG_DATA_HOME/tapevault, else ~/.local/share/tapevault.\n"
	        "Passwords are never taken from the command line: use --password-file F,\n"
	        "$TAPEVAULT_PASSWORD (less safe: visible to the process's owner), or the terminal.\n"
	        "Progress (write, restore, verify, catalog: rate, time left, current item) is shown\n"
	        "on stderr when it is a terminal; --progress shows it also when it is not.\n"
	        "Exit status: 0 success, 1 failure, 2 usage error.  'tapevault CMD --help' for more.\n");
}

/* A command that is also a group ("catalog", "catalog check"): its
 * --help names the group's commands too. */
void cli_print_subcommands(const struct cli_cmd *cmd)
{
	size_t l = strlen(cmd->name);
	int any = 0;

	for (const struct cli_cmd *k = cli_commands; k->name; k++)
		if (strncmp(k->name, cmd->name, l) == 0 && k->name[l] == ' ') {
			if (!any)
				printf("\nusage: tapevault %s SUBCOMMAND [ARGS]\n\n", cmd->name);
			printf("  tapevault %s %s\n", k->name, k->usage);
			any = 1;
		}
}

const struct cli_cmd *cli_find(const char *name)
{
	for (const struct cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_open(struct cli *c)
{
	int r;

	if (c->h != NULL)
		return 0;
	if ((r = tv_home_resolve(c->home_opt, c->home_dir, sizeof(c->home_dir))) != 0)
		return cli_fail(c, r, "state directory");
	if ((r = tv_home_open(c->home_dir, &c->h)) != 0)
		return cli_fail(c, r, NULL);
	c->h->json = c->json;
	c->h->quiet = c->quiet;
	c->h->verbose = c->verbose;
	c->h->trust_writer = trust_writer;
	c->h->ntrust_writer = ntrust_writer;
	c->h->ask_writer = ask_writer;
	/* a job's history row: never a reason for the job to fail */
	if (c->job_kind != NULL && tv_history_start(c->h, c->job_kind, c->job_args,
	                                            &c->job_id) != 0) {
		tv_verbose(c->h, "%s", tv_errmsg(TV_ERR_DB));
		tv_errclear();
	}
	return 0;
}

int cli_fail(struct cli *c, int err, const char *what)
{
	const char *d = tv_errmsg(err);

	if (what != NULL)
		fprintf(stderr, "tapevault: %s: %s\n", what, d);
	else
		fprintf(stderr, "tapevault: %s\n", d);
	if (c != NULL)
		snprintf(c->job_error, sizeof(c->job_error), "%s", d);
	if (c != NULL && c->h != NULL)
		tv_log(c->h, "error: %s", d);
	if (c != NULL && c->json && c->out != NULL)
		json_object_set_new(c->out, "error", json_string(d));
	tv_errclear();
	return err == TV_ERR_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_FAIL;
}

void cli_list_start(struct cli_list *l, struct cli *c, const char *header_fmt, ...)
{
	va_list ap;

	l->c = c;
	l->arr = NULL;
	if (c->json) {
		l->arr = json_array();
		return;
	}
	va_start(ap, header_fmt);
	vprintf(header_fmt, ap);
	va_end(ap);
}

int cli_list_end(struct cli_list *l, int r, const char *key)
{
	if (r != 0) {
		json_decref(l->arr);
		return cli_fail(l->c, r, NULL);
	}
	if (l->c->json)
		cli_json_set(l->c, key, l->arr);
	return EXIT_OK;
}

int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("tapevault: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: tapevault %s %s\n", cmd->name, cmd->usage);
	return EXIT_USAGE;
}


static int takes_trust_writer(const struct cli_cmd *cmd)
{
	static const char *const names[] = {
		"catalog", "decrypt", "escrow apply", "restore",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(cmd->name, names[i]) == 0)
			return 1;
	return 0;
}

/* The question about an unknown writer: asked only on a terminal (--yes
 * does not answer it: trusting a writer is the operator's own decision). */
static int ask_writer(void *ctx, const char *question)
{
	char line[32];
	FILE *tty;

	(void)ctx;
	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+e")) == NULL)
		return 0;
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) == NULL) {
		fclose(tty);
		return 0;
	}
	fclose(tty);
	return line[0] == 'y' || line[0] == 'Y';
}

int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv,
               const struct option *opts, int (*each)(int, const char *, void *),
               void *ctx)
{
	struct option all[40];
	char shortopts[80] = "+h";
	int n = 0, o;

	for (; opts && opts[n].name && n < 38; n++) {
		all[n] = opts[n];
		if (opts[n].val > 0 && opts[n].val < 128) {
			size_t l = strlen(shortopts);
			shortopts[l] = (char)opts[n].val;
			shortopts[l + 1] = '\0';
			if (opts[n].has_arg == required_argument)
				strcat(shortopts, ":");
		}
	}
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	if (takes_trust_writer(cmd))
		all[n++] = (struct option){"trust-writer", required_argument, NULL,
		                           CLI_OPT_TRUST_WRITER};
	all[n] = (struct option){NULL, 0, NULL, 0};
	/* long options must be spelled out: getopt_long would take
	 * "--password" for "--password-file" */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t len;
		int ok = 0;
		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--", 2) != 0)
			continue;
		len = strcspn(a + 2, "=");
		for (int k = 0; all[k].name; k++)
			if (strlen(all[k].name) == len && strncmp(all[k].name, a + 2, len) == 0) {
				ok = 1;
				if (all[k].has_arg == required_argument && a[2 + len] == '\0')
					i++;   /* its value may itself start with "--" */
				break;
			}
		if (!ok) {
			cli_usage(cmd, "unknown option %.*s", (int)(len + 2), a);
			return -1;
		}
	}
	optind = 1;
	opterr = 0;
	/* permute so options may follow operands ("write POOL DIR --name X") */
	shortopts[0] = '-';
	{
		int nargs = 0;
		char **operands = calloc((size_t)argc + 1, sizeof(char *));
		if (operands == NULL)
			return -1;
		operands[nargs++] = argv[0];
		while ((o = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
			if (o == 1) {
				operands[nargs++] = optarg;
				continue;
			}
			if (o == 'h') {
				printf("usage: tapevault %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->help);
				cli_print_subcommands(cmd);
				free(operands);
				return -2;
			}
			if (o == CLI_OPT_TRUST_WRITER) {
				uint8_t f[TV_PKFPR_LEN];
				if (strcmp(optarg, "unsigned") != 0 && tv_pkfpr_parse(optarg, f) != 0) {
					tv_errclear();
					cli_usage(cmd, "--trust-writer wants a fingerprint SHA256:<64 hex "
					          "digits> (or 'unsigned'), not %s", optarg);
					free(operands);
					return -1;
				}
				if (ntrust_writer < sizeof(trust_writer) / sizeof(trust_writer[0]))
					trust_writer[ntrust_writer++] = optarg;
				continue;
			}
			if (o == '?' || o == ':') {
				if (optopt)
					cli_usage(cmd, "unknown option or missing value: -%c", optopt);
				else
					cli_usage(cmd, "unknown option or missing value: %s", argv[optind - 1]);
				free(operands);
				return -1;
			}
			if (each(o, optarg, ctx) != 0) {
				free(operands);
				return -1;
			}
		}
		for (int i = optind; i < argc; i++)
			operands[nargs++] = argv[i];
		for (int i = 0; i < nargs; i++)
			argv[i] = operands[i];
		argv[nargs] = NULL;
		free(operands);
		return nargs;
	}
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || errno != 0 || *s == '-')
		return TV_ERR_INVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return TV_ERR_INVAL;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0')
		return TV_ERR_INVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return TV_ERR_RANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_confirm(struct cli *c, const char *question)
{
	char line[32];
	FILE *tty;

	if (c->h && c->h->assume_yes)
		return 1;
	tty = fopen("/dev/tty", "r+e");
	if (tty == NULL) {
		fprintf(stderr, "%s\ntapevault: no terminal to confirm on: use --yes\n", question);
		return 0;
	}
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) == NULL) {
		fclose(tty);
		return 0;
	}
	fclose(tty);
	return line[0] == 'y' || line[0] == 'Y';
}

void cli_json_set(struct cli *c, const char *key, json_t *v)
{
	if (c->out == NULL)
		c->out = json_object();
	json_object_set_new(c->out, key, v);
}

void cli_json_append(struct cli *c, const char *key, json_t *v)
{
	json_t *a;

	if (c->out == NULL)
		c->out = json_object();
	if ((a = json_object_get(c->out, key)) == NULL || !json_is_array(a)) {
		a = json_array();
		json_object_set_new(c->out, key, a);
	}
	json_array_append_new(a, v);
}

/* --version: the program, the tape format it writes and reads, and the
 * libraries it runs on (their versions at run time, not build time). */
static int print_version(int json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:i, s:[i], s:s, s:s, s:s, s:s}", "version",
		                      TV_VERSION, "format_writes", TV_FORMAT_VERSION,
		                      "format_reads", TV_FORMAT_VERSION, "openssl",
		                      OpenSSL_version(OPENSSL_VERSION), "sqlite",
		                      tv_db_lib_version(), "zstd", tv_compression_lib_version(),
		                      "jansson", jansson_version_str());
		if (o == NULL)
			return EXIT_FAIL;
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
		return EXIT_OK;
	}
	printf("tapevault %s\n", TV_VERSION);
	printf("tape format: writes version %d, reads version %d\n", TV_FORMAT_VERSION,
	       TV_FORMAT_VERSION);
	printf("libraries: %s, SQLite %s, zstd %s, jansson %s\n",
	       OpenSSL_version(OPENSSL_VERSION), tv_db_lib_version(),
	       tv_compression_lib_version(), jansson_version_str());
	return EXIT_OK;
}

/* SIGINT, SIGTERM: the first asks the job to stop at a clean point (it
 * checks tv_stop_requested() in its loops: util/stop.h); a second one
 * ends the process at once. */
static void on_stop_signal(int sig)
{
	if (tv_stop_signal != 0)
		_exit(128 + sig);
	tv_stop_signal = sig;
}

/* Only the jobs that honour a stop request catch the signals; every other
 * command keeps their default action (it ends at once). */
static void catch_stop_signals(const struct cli_cmd *cmd)
{
	static int (*const stoppable[])(struct cli *, int, char **) = {
		cmd_write, cmd_restore, cmd_verify, cmd_catalog, cmd_inventory,
	};
	struct sigaction sa;

	for (size_t k = 0; k < sizeof(stoppable) / sizeof(stoppable[0]); k++) {
		if (cmd->fn != stoppable[k])
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;   /* system calls go on; the loops look at the flag */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		return;
	}
}

/* The commands whose runs go into the job history (jobs/history.h). */
static const char *const history_kinds[] = {
	"write", "restore", "verify", "catalog", "inventory", "decrypt", "escrow apply",
	"escrow recover", "backup create", "backup extract", "expire", "tape erase",
};

/* A job command: its kind and operands, for cli_open to record. */
static void job_prepare(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	size_t l = 0;

	for (size_t k = 0; k < sizeof(history_kinds) / sizeof(history_kinds[0]); k++)
		if (strcmp(cmd->name, history_kinds[k]) == 0)
			c->job_kind = cmd->name;
	for (int k = 0; c->job_kind != NULL && k < argc && l + 1 < sizeof(c->job_args); k++) {
		snprintf(c->job_args + l, sizeof(c->job_args) - l, "%s%s", k ? " " : "", argv[k]);
		l = strlen(c->job_args);
	}
}

/* The job's row gets its result, what it did and its warnings. */
static void job_finish(struct cli *c, int rc)
{
	const char *result = rc == EXIT_OK ? (c->job_partial ? "partial" : "ok")
	                     : rc == EXIT_INTERRUPTED ? "interrupted" : "failed";

	if (c->h == NULL || c->job_id == 0)
		return;
	if (tv_history_end(c->h, c->job_id, result, c->h->job_files, c->h->job_bytes,
	                   c->h->warnings, rc == EXIT_OK ? NULL : c->job_error) != 0)
		tv_errclear();
}

static int is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* tapevault GROUP --help: the group's commands, on stdout; 0 when GROUP is
 * none. */
static int group_usage(const char *group)
{
	int any = 0;

	for (const struct cli_cmd *k = cli_commands; k->name; k++)
		if (strncmp(k->name, group, strlen(group)) == 0 && k->name[strlen(group)] == ' ') {
			if (!any)
				printf("usage: tapevault %s SUBCOMMAND [ARGS]\n\n", group);
			printf("  tapevault %s %s\n", k->name, k->usage);
			any = 1;
		}
	if (any)
		printf("\n'tapevault %s SUBCOMMAND --help' for more.\n", group);
	return any;
}

/* GROUP [SUBGROUP] --help (v: the words after the global options): 1
 * when it was that and the usage is printed. */
static int group_help(int n, char **v)
{
	char name[64] = "";

	for (int w = 0; w < 2 && w + 1 < n; w++) {
		if (w > 0)
			strncat(name, " ", sizeof(name) - strlen(name) - 1);
		strncat(name, v[w], sizeof(name) - strlen(name) - 1);
		if (is_help(v[w + 1]))
			return group_usage(name);
	}
	return 0;
}

/* tapevault help [CMD [SUB...]]: i is the index of "help" in argv. */
static int help_command(int argc, char **argv, int i)
{
	const struct cli_cmd *cmd = NULL;
	char name[64];

	if (i + 1 < argc && is_help(argv[i + 1])) {
		global_usage(stdout);
		return EXIT_OK;
	}
	if (i + 1 < argc) {
		/* help CMD [SUB...] */
		name[0] = '\0';
		for (int k = i + 1; k < argc && k < i + 4; k++) {
			if (name[0])
				strncat(name, " ", sizeof(name) - strlen(name) - 1);
			strncat(name, argv[k], sizeof(name) - strlen(name) - 1);
			if (cli_find(name) != NULL)
				cmd = cli_find(name);   /* the longest match: "catalog check" */
		}
		if (cmd == NULL) {
			int any = 0;
			for (const struct cli_cmd *k = cli_commands; k->name; k++)
				if (strncmp(k->name, argv[i + 1], strlen(argv[i + 1])) == 0) {
					printf("  %-16s %s\n", k->name, k->usage);
					any = 1;
				}
			if (!any) {
				fprintf(stderr, "tapevault: no command '%s'\n", argv[i + 1]);
				return EXIT_USAGE;
			}
			return EXIT_OK;
		}
		printf("usage: tapevault %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->help);
		cli_print_subcommands(cmd);
		return EXIT_OK;
	}
	global_usage(stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cli c;
	const struct cli_cmd *cmd = NULL;
	char name[64];
	int i = 1, r, words;

	memset(&c, 0, sizeof(c));
	if ((r = tv_secure_init()) != 0)   /* no core dumps, not dumpable */
		fprintf(stderr, "tapevault: warning: %s\n", tv_errmsg(r));
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
			c.home_opt = argv[++i];
		} else if (strncmp(argv[i], "--home=", 7) == 0) {
			c.home_opt = argv[i] + 7;
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
		} else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			c.quiet = 1;
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			c.verbose = 1;
		} else if (strcmp(argv[i], "--progress") == 0) {
			tv_prog_force(1);   /* the progress line also when stderr is no terminal */
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			global_usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			return print_version(c.json);
		} else {
			fprintf(stderr, "tapevault: unknown global option %s\n", argv[i]);
			global_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		global_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0)
		return help_command(argc, argv, i);
	/* longest match of up to three words */
	name[0] = '\0';
	words = 0;
	for (int k = i; k < argc && k < i + 3; k++) {
		const struct cli_cmd *m;
		if (name[0])
			strncat(name, " ", sizeof(name) - strlen(name) - 1);
		strncat(name, argv[k], sizeof(name) - strlen(name) - 1);
		if ((m = cli_find(name)) != NULL) {
			cmd = m;
			words = k - i + 1;
		}
	}
	if (cmd == NULL && group_help(argc - i, argv + i))
		return EXIT_OK;
	if (cmd == NULL) {
		int any = 0;
		for (const struct cli_cmd *k = cli_commands; k->name; k++)
			if (strncmp(k->name, argv[i], strlen(argv[i])) == 0 &&
			    k->name[strlen(argv[i])] == ' ') {
				if (!any)
					fprintf(stderr, "tapevault: '%s' needs a subcommand:\n", argv[i]);
				fprintf(stderr, "  tapevault %s %s\n", k->name, k->usage);
				any = 1;
			}
		if (!any)
			fprintf(stderr, "tapevault: unknown command '%s' (see 'tapevault help')\n", argv[i]);
		return EXIT_USAGE;
	}
	if (c.json)
		c.out = json_object();
	catch_stop_signals(cmd);
	job_prepare(&c, cmd, argc - (i + words), argv + i + words);
	/* argv for the command: [cmdname, args...] */
	r = cmd->fn(&c, argc - (i + words - 1), argv + (i + words - 1));
	job_finish(&c, r);
	if (c.json && c.out != NULL) {
		char *s = json_dumps(c.out, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s) {
			puts(s);
			free(s);
		}
	}
	json_decref(c.out);
	tv_home_close(c.h);
	return r;
}

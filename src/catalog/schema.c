/* tapevault catalog schema and its migrations.
 *
 * Every migration moves user_version from N-1 to N inside one
 * transaction.  Never edit a released migration: add the next one.
 * Rule: nothing here that the tapes cannot give back, except local
 * configuration (libraries, KMS servers, passwords sealed by the key
 * store, escrow settings, audit log). */
#include "catalog/schema.h"

const char *const tv_schema_migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE settings(\n"
	"  key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
	"CREATE TABLE libraries(\n"
	"  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, path TEXT NOT NULL,\n"
	"  created INTEGER NOT NULL);\n"
	"CREATE TABLE pools(\n"
	"  id INTEGER PRIMARY KEY, uuid BLOB UNIQUE NOT NULL, name TEXT UNIQUE NOT NULL,\n"
	"  library_id INTEGER REFERENCES libraries(id),\n"
	"  encryption TEXT NOT NULL DEFAULT 'none',\n"
	"  media_set_policy TEXT NOT NULL DEFAULT 'continue'\n"
	"    CHECK(media_set_policy IN ('continue','per-job')),\n"
	"  imported INTEGER NOT NULL DEFAULT 0,\n"
	"  created INTEGER NOT NULL);\n"
	"CREATE TABLE media_sets(\n"
	"  id INTEGER PRIMARY KEY, uuid BLOB UNIQUE NOT NULL,\n"
	"  pool_id INTEGER NOT NULL REFERENCES pools(id),\n"
	"  created INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE TABLE tapes(\n"
	"  id INTEGER PRIMARY KEY, barcode TEXT UNIQUE NOT NULL, uuid BLOB UNIQUE,\n"
	"  library_id INTEGER REFERENCES libraries(id),\n"
	"  state TEXT NOT NULL DEFAULT 'unrecognized'\n"
	"    CHECK(state IN ('free','pool','imported','unrecognized','retired')),\n"
	"  pool_id INTEGER REFERENCES pools(id),\n"
	"  media_set_id INTEGER REFERENCES media_sets(id),\n"
	"  seq INTEGER,\n"
	"  encrypted INTEGER NOT NULL DEFAULT 0,\n"
	"  locked INTEGER NOT NULL DEFAULT 0,\n"
	"  dek_fpr BLOB,\n"
	"  enc_spec TEXT,          -- the pool encryption it was labeled under\n"
	"  ms_label BLOB,          -- media set label body as on tape (key slots, hints)\n"
	"  next_file INTEGER,      -- where the next session starts (after the last catalog)\n"
	"  sessions INTEGER NOT NULL DEFAULT 0,\n"
	"  full INTEGER NOT NULL DEFAULT 0,\n"
	"  contents_cataloged INTEGER NOT NULL DEFAULT 0,\n"
	"  capacity INTEGER, used INTEGER,\n"
	"  written INTEGER, cataloged INTEGER);\n"
	"CREATE INDEX tapes_ms ON tapes(media_set_id, seq);\n"
	"-- DEKs sealed by the installation's key store; keyed by tape UUID so a\n"
	"-- key ring can unlock a tape before that tape is cataloged.\n"
	"CREATE TABLE tape_keys(\n"
	"  tape_uuid BLOB PRIMARY KEY, dek_fpr BLOB NOT NULL, sealed BLOB NOT NULL,\n"
	"  source TEXT NOT NULL, created INTEGER NOT NULL);\n"
	"CREATE TABLE backup_sets(\n"
	"  id INTEGER PRIMARY KEY, uuid BLOB UNIQUE NOT NULL, name TEXT NOT NULL,\n"
	"  pool_id INTEGER REFERENCES pools(id),\n"
	"  media_set_id INTEGER REFERENCES media_sets(id),\n"
	"  created INTEGER NOT NULL, first_seq INTEGER, last_seq INTEGER,\n"
	"  complete INTEGER NOT NULL DEFAULT 0,\n"
	"  nfiles INTEGER NOT NULL DEFAULT 0, nbytes INTEGER NOT NULL DEFAULT 0,\n"
	"  recovered INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE TABLE files(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  file_index INTEGER NOT NULL, path TEXT NOT NULL, ftype INTEGER NOT NULL,\n"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,\n"
	"  mtime_sec INTEGER NOT NULL, mtime_nsec INTEGER NOT NULL,\n"
	"  size INTEGER NOT NULL, link TEXT, eflags INTEGER NOT NULL DEFAULT 0,\n"
	"  UNIQUE(set_id, file_index));\n"
	"CREATE INDEX files_path ON files(set_id, path);\n"
	"CREATE TABLE parts(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"  part_no INTEGER NOT NULL, last_part INTEGER NOT NULL,\n"
	"  tape_uuid BLOB NOT NULL, file_no INTEGER NOT NULL, content_uuid BLOB NOT NULL,\n"
	"  offset INTEGER NOT NULL, length INTEGER NOT NULL, records INTEGER NOT NULL,\n"
	"  crc INTEGER NOT NULL,\n"
	"  UNIQUE(file_id, part_no));\n"
	"CREATE INDEX parts_tape ON parts(tape_uuid, file_no);\n"
	"CREATE TABLE passwords(\n"
	"  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, hint TEXT NOT NULL,\n"
	"  sealed BLOB NOT NULL, created INTEGER NOT NULL,\n"
	"  kdf TEXT NOT NULL DEFAULT 'pbkdf2',\n"
	"  sealed_kek BLOB);        -- KEK derived once at 'password add' (salt + params + key)\n"
	"CREATE TABLE kms_servers(\n"
	"  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, host TEXT NOT NULL,\n"
	"  port INTEGER NOT NULL, ca TEXT NOT NULL, cert TEXT NOT NULL, key TEXT NOT NULL,\n"
	"  created INTEGER NOT NULL);\n"
	"CREATE TABLE kms_keys(\n"
	"  id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL REFERENCES kms_servers(id),\n"
	"  uid TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,\n"
	"  public_der BLOB, created INTEGER NOT NULL, UNIQUE(server_id, uid));\n"
	"CREATE TABLE escrow_keys(\n"
	"  id INTEGER PRIMARY KEY, fingerprint BLOB UNIQUE NOT NULL, public_pem TEXT NOT NULL,\n"
	"  enabled INTEGER NOT NULL DEFAULT 1, created INTEGER NOT NULL);\n"
	"-- escrow requests this installation made and has not applied yet; the\n"
	"-- one-time key that opens the response is sealed by the key store\n"
	"CREATE TABLE escrow_requests(\n"
	"  id BLOB PRIMARY KEY, hash BLOB NOT NULL, request TEXT NOT NULL,\n"
	"  sealed_key BLOB NOT NULL, created INTEGER NOT NULL, applied INTEGER);\n"
	"CREATE TABLE audit(\n"
	"  id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL,\n"
	"  action TEXT NOT NULL, key_path TEXT NOT NULL, tapes TEXT NOT NULL,\n"
	"  detail TEXT NOT NULL);\n",
	/* 2: on-tape format v2.  Sets written in format v1 cannot be read by
	 * this version: their rows go (their tapes stay, and a catalog run names
	 * their format).  Files are stored in tape order, keyed by (set, index),
	 * without a path index: a set's files are one range of the primary key,
	 * and inserting them appends to the end of the tree. */
	"DROP TABLE parts;\n"
	"DROP TABLE files;\n"
	"DELETE FROM backup_sets;\n"
	"ALTER TABLE backup_sets ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE pools ADD COLUMN compression TEXT NOT NULL DEFAULT 'zstd:1';\n"
	"ALTER TABLE tapes ADD COLUMN record_size INTEGER;\n"
	"ALTER TABLE tapes ADD COLUMN format INTEGER;\n"
	"CREATE TABLE files(\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  idx INTEGER NOT NULL,          -- the item's index in its set (tape order)\n"
	"  path TEXT NOT NULL, ftype INTEGER NOT NULL, mode INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL,\n"
	"  mtime_sec INTEGER NOT NULL, mtime_nsec INTEGER NOT NULL,\n"
	"  size INTEGER NOT NULL, link TEXT, eflags INTEGER NOT NULL DEFAULT 0,\n"
	"  -- where its first part is: tape (sequence in the media set), tape file,\n"
	"  -- frame offset in the file's data stream, entry offset in the frame\n"
	"  tseq INTEGER NOT NULL, file_no INTEGER NOT NULL,\n"
	"  frame_off INTEGER NOT NULL, entry_off INTEGER NOT NULL,\n"
	"  nparts INTEGER NOT NULL DEFAULT 1,\n"
	"  PRIMARY KEY(set_id, idx)) WITHOUT ROWID;\n"
	"-- the parts after the first of an item split across tape files\n"
	"CREATE TABLE parts(\n"
	"  set_id INTEGER NOT NULL, idx INTEGER NOT NULL, part INTEGER NOT NULL,\n"
	"  off INTEGER NOT NULL,           -- the file's first byte in this part\n"
	"  tseq INTEGER NOT NULL, file_no INTEGER NOT NULL,\n"
	"  frame_off INTEGER NOT NULL, entry_off INTEGER NOT NULL,\n"
	"  PRIMARY KEY(set_id, idx, part),\n"
	"  FOREIGN KEY(set_id) REFERENCES backup_sets(id) ON DELETE CASCADE\n"
	") WITHOUT ROWID;\n"
	"-- data tape files: the content UUID keys and identifies each\n"
	"CREATE TABLE data_files(\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  tseq INTEGER NOT NULL, file_no INTEGER NOT NULL,\n"
	"  content_uuid BLOB NOT NULL, raw_bytes INTEGER NOT NULL DEFAULT 0,\n"
	"  stored_bytes INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 1,\n"
	"  PRIMARY KEY(set_id, tseq, file_no)) WITHOUT ROWID;\n",
	/* 3: everything a file system holds (docs/FORMAT.md 10.2, 10.4, 10.5).
	 * ext: an entry's optional fields (tags 16-22: device numbers, the
	 * sparse map, where the xattr list is) as the TLV list they are on
	 * tape (format/format.h, tv_entry_ext_put), NULL when it has none: one
	 * column, NULL for most files, costs a small file nothing.  Regular
	 * files' xattr lists stay on tape only (restore reads their entry
	 * headers anyway); those of the items restored from the catalog alone
	 * (directories, links, FIFOs, devices) are in it.  The owner's and
	 * group's names, which every entry on tape carries, are kept once per
	 * set and id (kind 0 owner, 1 group). */
	"ALTER TABLE files ADD COLUMN ext BLOB;\n"
	"CREATE TABLE set_names(\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  kind INTEGER NOT NULL CHECK(kind IN (0, 1)), id INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  PRIMARY KEY(set_id, kind, id)) WITHOUT ROWID;\n",
	/* 4: LTO hardware encryption (jobs/drivecrypt.h): per pool, whether
	 * the drive encrypts the data records of the tapes written from now on
	 * (the tapes' keys stay in their key slots as for software
	 * encryption). */
	"ALTER TABLE pools ADD COLUMN drive_encryption INTEGER NOT NULL DEFAULT 0;\n",
	/* 5: a set's state says the truth (issue 9).  backup_sets.state: NULL
	 * while its job runs (and of a set cataloged from tapes that do not
	 * say), else complete | partial | interrupted | failed; pid: the
	 * writing process while it runs (a set left without a state whose
	 * process is gone was killed).  files.changed: 1 when the item changed
	 * while it was read (its data may mix old and new).  set_problems:
	 * every item of a set that was not stored whole, named, with why
	 * (changed, skipped, unreadable, interrupted) and its index when it
	 * has a files row. */
	"ALTER TABLE backup_sets ADD COLUMN state TEXT;\n"
	"ALTER TABLE backup_sets ADD COLUMN pid INTEGER;\n"
	"ALTER TABLE files ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;\n"
	"CREATE TABLE set_problems(\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  n INTEGER NOT NULL, path TEXT NOT NULL, reason TEXT NOT NULL, idx INTEGER,\n"
	"  PRIMARY KEY(set_id, n)) WITHOUT ROWID;\n",
	/* 6: browsing and the job history (issue 11: jobs/browse.c,
	 * jobs/history.c).  files_by_path: 'find' and 'files SET GLOB' read
	 * the range of paths that starts with a glob's literal prefix (index
	 * entries carry set_id and idx, the primary key).  jobs: one row per
	 * job run from the CLI, inserted 'running' when it starts (pid: a
	 * running row whose process is gone shows as interrupted), times in
	 * milliseconds since the epoch. */
	"CREATE INDEX files_by_path ON files(path);\n"
	"CREATE TABLE jobs(\n"
	"  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT NOT NULL DEFAULT '',\n"
	"  pid INTEGER NOT NULL DEFAULT 0,\n"
	"  started_ms INTEGER NOT NULL, ended_ms INTEGER,\n"
	"  files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,\n"
	"  result TEXT NOT NULL DEFAULT 'running'\n"
	"    CHECK(result IN ('running','ok','partial','failed','interrupted')),\n"
	"  warnings INTEGER NOT NULL DEFAULT 0, error TEXT);\n",
	/* 7: security hardening (issue 10).  escrow_trusted: the escrow
	 * authority's trust list of installation identities (Ed25519
	 * SubjectPublicKeyInfo PEM; fingerprint = SHA-256 of its DER):
	 * requests signed by any other identity are refused.  The long-lived
	 * password KEKs go (a writing job derives its own, fresh salt), and so
	 * do the one-time keys of escrow requests already applied. */
	"CREATE TABLE escrow_trusted(\n"
	"  fingerprint BLOB PRIMARY KEY, public_pem TEXT NOT NULL,\n"
	"  installation TEXT NOT NULL DEFAULT '', added INTEGER NOT NULL);\n"
	"UPDATE passwords SET sealed_kek=NULL;\n"
	"UPDATE escrow_requests SET sealed_key=X'' WHERE applied IS NOT NULL;\n",
	/* 8: the web console's users (issue 13: src/web/users.c).  hash: the
	 * password's Argon2id encoded string ($argon2id$v=19$m=...,t=...,p=...
	 * $salt$hash); role: what the user may do over the REST API.  Login
	 * tokens live in the serving process only (hashed). */
	"CREATE TABLE web_users(\n"
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,\n"
	"  role TEXT NOT NULL CHECK(role IN ('admin','operator','viewer')),\n"
	"  created INTEGER NOT NULL);\n",
	/* 9: retention (issue 11: jobs/retention.c).  pools.retention: how
	 * long (seconds) the pool keeps a media set after its newest backup
	 * set; NULL keeps it for ever. */
	"ALTER TABLE pools ADD COLUMN retention INTEGER;\n",
	/* 10: incremental and differential backups (issue 11: jobs/write.c,
	 * docs/FORMAT.md 11.2).  backup_sets.level: 0 full, 1 incremental, 2
	 * differential; parent_uuid: the set it is based on (by UUID, so sets
	 * cataloged from tapes in any order find each other).  A set below a
	 * full holds the items new or changed since its parent; what its
	 * parent's tree held and it no longer does is in set_deleted.  files:
	 * the change time and inode each item had when it was stored (NULL:
	 * not known, the next incremental stores it again). */
	"ALTER TABLE backup_sets ADD COLUMN level INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE backup_sets ADD COLUMN parent_uuid BLOB;\n"
	"ALTER TABLE files ADD COLUMN ctime_sec INTEGER;\n"
	"ALTER TABLE files ADD COLUMN ctime_nsec INTEGER;\n"
	"ALTER TABLE files ADD COLUMN ino INTEGER;\n"
	"CREATE TABLE set_deleted(\n"
	"  set_id INTEGER NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,\n"
	"  n INTEGER NOT NULL, path TEXT NOT NULL,\n"
	"  PRIMARY KEY(set_id, n)) WITHOUT ROWID;\n",
	/* 11: writer identities (issue 10, finding 2: jobs/writer.c).
	 * writers_trusted: installations whose tapes and backup files this one
	 * accepts besides its own (public_key: the raw Ed25519 key as tapes
	 * carry it; fingerprint: SHA-256 of its SubjectPublicKeyInfo DER; how:
	 * 'identity trust', 'confirmed', '--trust-writer').  Kept apart from
	 * escrow_trusted: answering escrow requests is another trust. */
	"CREATE TABLE writers_trusted(\n"
	"  fingerprint BLOB PRIMARY KEY, public_key BLOB NOT NULL,\n"
	"  how TEXT NOT NULL DEFAULT '', added INTEGER NOT NULL);\n",
	/* 12: several tape servers on one catalog (issue 12: jobs/lease.c).
	 * servers: every tape server (host:home) that used the catalog, and
	 * when it was last seen.  reservations: leases on drives, tapes, media
	 * sets and jobs (resource "drive:LIBID:N", "tape:BARCODE", "ms:ID",
	 * "job:UUID"), renewed by their process; past `expires` anyone may take
	 * them, and the next sweep marks an expired job's set failed. */
	"CREATE TABLE servers(\n"
	"  name TEXT PRIMARY KEY, host TEXT NOT NULL, home TEXT NOT NULL, pid INTEGER,\n"
	"  version TEXT NOT NULL, started INTEGER NOT NULL, last_seen INTEGER NOT NULL);\n"
	"CREATE TABLE reservations(\n"
	"  resource TEXT PRIMARY KEY, owner TEXT NOT NULL, server TEXT NOT NULL,\n"
	"  pid INTEGER NOT NULL, job TEXT NOT NULL, set_uuid BLOB,\n"
	"  taken INTEGER NOT NULL, expires INTEGER NOT NULL);\n",
};

const int tv_schema_count =
	(int)(sizeof(tv_schema_migrations) / sizeof(tv_schema_migrations[0]));

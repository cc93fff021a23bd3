/* Unit tests: the virtual tape library. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"


#include <sys/wait.h>

#define WS(p, s) tl_write_file((p), (s), strlen(s), 0644)

struct fx {
	const char *tmp;
	char *dir;
	struct tv_vlib *l;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	unsetenv("TAPEVAULT_TEST_FAULT");
	f->tmp = tl_tmpdir("vlib");
	f->dir = tl_path(f->tmp, "libs/lib1");    /* parents created */
	assert_int_equal(tv_vlib_create(f->dir, "lib1", 4, 2, 1, &f->l), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tv_vlib_close(f->l);
	free(f->dir);
	free(f);
	return 0;
}

static char *status_text(struct fx *f)
{
	char *txt = NULL;

	assert_int_equal(tv_vlib_status_text(f->l, &txt), 0);
	return txt;
}

static void expect_text(struct fx *f, const char *want)
{
	char *txt = status_text(f);

	if (strcmp(txt, want) != 0)
		fail_msg("status text:\n%s\nwanted:\n%s", txt, want);
	free(txt);
}

static void test_barcodes(void **state)
{
	(void)state;
	assert_int_equal(tv_barcode_check("VT0001L9"), 0);
	assert_int_equal(tv_barcode_check("ABC123LA"), 0);
	assert_int_equal(tv_barcode_check("000001M8"), 0);
	assert_int_equal(tv_barcode_check("vt0001l9"), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "uppercase"));
	assert_int_equal(tv_barcode_check("VT0001L"), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check("VT0001L99"), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check("VT-001L9"), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check("VT00019L"), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check("VT0001/9"), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check(""), TV_ERR_INVAL);
	assert_int_equal(tv_barcode_check(NULL), TV_ERR_INVAL);
}

static void test_create_open(void **state)
{
	struct fx *f = *state;
	struct tv_vlib *l2 = NULL;
	struct tv_vlib_info info;
	struct tv_vlib_elem *e = NULL;
	size_t n = 0;

	assert_string_equal(tv_vlib_name(f->l), "lib1");
	assert_string_equal(tv_vlib_dir(f->l), f->dir);
	assert_int_equal(tv_vlib_create(f->dir, "other", 4, 1, 0, NULL), TV_ERR_EXISTS);
	assert_non_null(strstr(tv_errdetail(), "already holds"));
	assert_int_equal(tv_vlib_open(f->dir, &l2), 0);
	assert_string_equal(tv_vlib_name(l2), "lib1");
	assert_int_equal(tv_vlib_status(l2, &info, &e, &n), 0);
	assert_int_equal(info.slots, 4);
	assert_int_equal(info.drives, 2);
	assert_int_equal(info.mailslots, 1);
	assert_int_equal(n, 7);
	assert_int_equal(e[0].type, TV_ELEM_DRIVE);
	assert_int_equal(e[0].index, 0);
	assert_int_equal(e[1].index, 1);
	assert_int_equal(e[2].type, TV_ELEM_SLOT);
	assert_int_equal(e[2].index, 1);
	assert_int_equal(e[6].type, TV_ELEM_MAILSLOT);
	assert_int_equal(e[6].index, 1);
	free(e);
	tv_vlib_close(l2);
	expect_text(f,
	            "  Storage Changer lib1:2 Drives, 5 Slots ( 1 Import/Export )\n"
	            "Data Transfer Element 0:Empty\n"
	            "Data Transfer Element 1:Empty\n"
	            "      Storage Element 1:Empty\n"
	            "      Storage Element 2:Empty\n"
	            "      Storage Element 3:Empty\n"
	            "      Storage Element 4:Empty\n"
	            "      Storage Element 5 IMPORT/EXPORT:Empty\n");
	/* errors */
	{
		char *nd = tl_path(f->tmp, "nolib");
		assert_int_equal(tv_vlib_open(nd, &l2), TV_ERR_NOTFOUND);
		assert_int_equal(tl_exists(nd), 0);
		assert_int_equal(tv_vlib_create(nd, "bad name", 1, 1, 0, NULL), TV_ERR_INVAL);
		assert_int_equal(tv_vlib_create(nd, "x", 1, 0, 0, NULL), TV_ERR_INVAL);
		assert_int_equal(tv_vlib_create(nd, "x", TV_VLIB_MAX_SLOTS + 1, 1, 0, NULL),
		                 TV_ERR_INVAL);
		assert_int_equal(tv_vlib_create(nd, "x", 0, 1, 0, NULL), 0);  /* standalone */
		assert_int_equal(tv_vlib_open(nd, &l2), 0);
		assert_int_equal(tv_vlib_new_tape(l2, "VT0009L9", 0, 0, NULL), TV_ERR_NOSPC);
		assert_non_null(strstr(tv_errdetail(), "no storage slots"));
		tv_vlib_close(l2);
		free(nd);
	}
}

static void test_new_tape(void **state)
{
	struct fx *f = *state;
	struct tv_vtape_attrs a;
	char path[4096];
	unsigned slot = 0;

	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, &slot), 0);
	assert_int_equal(slot, 1);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0002L9", 1 << 20, 0, &slot), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(tv_vlib_tape_path(f->l, "VT0002L9", path, sizeof(path)), 0);
	assert_true(tl_exists(path));
	assert_int_equal(tv_vtape_read_attrs(path, &a), 0);
	assert_string_equal(a.barcode, "VT0002L9");
	assert_int_equal(a.capacity, 1 << 20);
	assert_int_equal(a.early_warning, tv_vtape_default_ew(1 << 20));
	assert_int_equal(tv_vlib_tape_path(f->l, "VT0001L9", path, sizeof(path)), 0);
	assert_int_equal(tv_vtape_read_attrs(path, &a), 0);
	assert_int_equal(a.capacity, TV_VLIB_DEFAULT_CAPACITY);
	/* errors */
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, &slot), TV_ERR_EXISTS);
	assert_non_null(strstr(tv_errdetail(), "slot 1"));
	assert_int_equal(tv_vlib_new_tape(f->l, "vt0003l9", 0, 0, &slot), TV_ERR_INVAL);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0003L9", 100, 200, &slot),
	                 TV_ERR_INVAL);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0003L9", 0, 0, &slot), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0004L9", 0, 0, &slot), 0);
	assert_int_equal(slot, 4);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0005L9", 0, 0, &slot), TV_ERR_NOSPC);
	assert_non_null(strstr(tv_errdetail(),
	                       "no free slot in library lib1 (4 slots"));
	assert_non_null(strstr(tv_errdetail(), "export cartridges first"));
	expect_text(f,
	            "  Storage Changer lib1:2 Drives, 5 Slots ( 1 Import/Export )\n"
	            "Data Transfer Element 0:Empty\n"
	            "Data Transfer Element 1:Empty\n"
	            "      Storage Element 1:Full :VolumeTag=VT0001L9\n"
	            "      Storage Element 2:Full :VolumeTag=VT0002L9\n"
	            "      Storage Element 3:Full :VolumeTag=VT0003L9\n"
	            "      Storage Element 4:Full :VolumeTag=VT0004L9\n"
	            "      Storage Element 5 IMPORT/EXPORT:Empty\n");
	{
		char **list = NULL;
		size_t n = 0;
		assert_int_equal(tv_vlib_barcodes(f->l, &list, &n), 0);
		assert_int_equal(n, 4);
		assert_string_equal(list[0], "VT0001L9");
		assert_string_equal(list[3], "VT0004L9");
		assert_null(list[4]);
		free(list);
	}
}

static void test_load_unload(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = NULL, *t2 = NULL;
	struct tv_vlib_elem e;
	unsigned slot, drive;
	unsigned char b[16];
	size_t got;

	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0002L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0003L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_load(f->l, "VT0003L9", 1, TV_TAPE_RDWR, &t, &drive), 0);
	assert_int_equal(drive, 1);
	assert_non_null(t);
	assert_int_equal(tv_tape_write(t, "hello", 5), 0);
	expect_text(f,
	            "  Storage Changer lib1:2 Drives, 5 Slots ( 1 Import/Export )\n"
	            "Data Transfer Element 0:Empty\n"
	            "Data Transfer Element 1:Full (Storage Element 3 Loaded):"
	            "VolumeTag = VT0003L9\n"
	            "      Storage Element 1:Full :VolumeTag=VT0001L9\n"
	            "      Storage Element 2:Full :VolumeTag=VT0002L9\n"
	            "      Storage Element 3:Empty\n"
	            "      Storage Element 4:Empty\n"
	            "      Storage Element 5 IMPORT/EXPORT:Empty\n");
	assert_int_equal(tv_vlib_find(f->l, "VT0003L9", &e), 0);
	assert_int_equal(e.type, TV_ELEM_DRIVE);
	assert_int_equal(e.index, 1);
	assert_int_equal(e.source_slot, 3);
	/* slot 3 is reserved for its cartridge: a new tape goes to slot 4 */
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0004L9", 0, 0, &slot), 0);
	assert_int_equal(slot, 4);
	/* errors while loaded */
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 1, TV_TAPE_RDWR, &t2, NULL),
	                 TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "drive 1 of library lib1 is full"));
	assert_int_equal(tv_vlib_load(f->l, "VT0003L9", 0, TV_TAPE_RDWR, &t2, NULL),
	                 TV_ERR_STATE);
	assert_int_equal(tv_vlib_unload(f->l, 1, &slot), TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "still open"));
	assert_int_equal(tv_vlib_export(f->l, "VT0003L9", f->tmp), TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "unload it"));
	assert_int_equal(tv_vlib_unload(f->l, 0, &slot), TV_ERR_STATE);
	assert_int_equal(tv_vlib_unload(f->l, 7, &slot), TV_ERR_INVAL);
	assert_int_equal(tv_vlib_load(f->l, "VT0009L9", 0, TV_TAPE_RDWR, &t2, NULL),
	                 TV_ERR_NOTFOUND);
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 5, TV_TAPE_RDWR, &t2, NULL),
	                 TV_ERR_INVAL);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 1, &slot), 0);
	assert_int_equal(slot, 3);
	assert_int_equal(tv_vlib_unload(f->l, 1, &slot), TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "empty"));
	/* any drive; loaded data still there */
	assert_int_equal(tv_vlib_load(f->l, "VT0003L9", TV_VLIB_ANY_DRIVE,
	                              TV_TAPE_RDONLY, &t, &drive), 0);
	assert_int_equal(drive, 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_memory_equal(b, "hello", 5);
	assert_int_equal(tv_tape_close(t), 0);
	/* loading what is already in the drive just opens it (job crashed) */
	assert_int_equal(tv_vlib_load(f->l, "VT0003L9", 0, TV_TAPE_RDONLY, &t, &drive),
	                 0);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", TV_VLIB_ANY_DRIVE,
	                              TV_TAPE_RDONLY, &t, &drive), 0);
	assert_int_equal(drive, 1);
	assert_int_equal(tv_vlib_load(f->l, "VT0002L9", TV_VLIB_ANY_DRIVE,
	                              TV_TAPE_RDONLY, &t2, &drive), TV_ERR_STATE);
	assert_non_null(strstr(tv_errdetail(), "all 2 drives"));
	tv_tape_close(t);
	assert_int_equal(tv_vlib_unload(f->l, 0, &slot), 0);
	assert_int_equal(slot, 3);
	assert_int_equal(tv_vlib_unload(f->l, 1, &slot), 0);
	assert_int_equal(slot, 1);
}

static void test_load_fault_hook(void **state)
{
	struct fx *f = *state;
	struct tv_tape *t = NULL;

	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, NULL), 0);
	setenv("TAPEVAULT_TEST_FAULT", "write_eio=1", 1);
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, TV_TAPE_RDWR, &t, NULL), 0);
	unsetenv("TAPEVAULT_TEST_FAULT");
	assert_string_equal(t->ops->kind, "faulty");
	assert_int_equal(tv_tape_write(t, "x", 1), TV_ERR_IO);
	tv_tape_close(t);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
	/* an image that cannot be opened: nothing moves */
	{
		char path[4096];
		struct tv_vlib_elem e;
		assert_int_equal(tv_vlib_tape_path(f->l, "VT0001L9", path, sizeof(path)), 0);
		tl_write_file(strcat(path, ".json"), "{bad", 4, 0644);
		assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, TV_TAPE_RDWR, &t, NULL),
		                 TV_ERR_FORMAT);
		assert_null(t);
		assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &e), 0);
		assert_int_equal(e.type, TV_ELEM_SLOT);
	}
}

static void test_export_insert(void **state)
{
	struct fx *f = *state;
	char *out = tl_path(f->tmp, "vault/shelf");
	char *img = tl_path(out, "VT0002L9.tap");
	char *sc = tl_path(out, "VT0002L9.tap.json");
	char bc[32];
	struct tv_vlib_elem e;
	struct tv_tape *t = NULL;
	unsigned slot;
	unsigned char b[16];
	size_t got;

	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0002L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_load(f->l, "VT0002L9", 0, TV_TAPE_RDWR, &t, NULL), 0);
	assert_int_equal(tv_tape_write(t, "data!", 5), 0);
	tv_tape_close(t);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);

	assert_int_equal(tv_vlib_export(f->l, "VT0002L9", out), 0);
	assert_true(tl_exists(img));
	assert_true(tl_exists(sc));
	{
		char *gone = tl_path(f->dir, "VT0002L9.tap");
		assert_false(tl_exists(gone));
		free(gone);
	}
	assert_int_equal(tv_vlib_find(f->l, "VT0002L9", &e), TV_ERR_NOTFOUND);
	assert_int_equal(tv_vlib_export(f->l, "VT0002L9", out), TV_ERR_NOTFOUND);
	/* the name is free again: a new cartridge may take it... */
	/* ... but insert it back instead (sidecar names the barcode) */
	assert_int_equal(tv_vlib_insert(f->l, img, 0, bc, &slot), 0);
	assert_string_equal(bc, "VT0002L9");
	assert_int_equal(slot, 2);
	assert_false(tl_exists(img));
	assert_int_equal(tv_vlib_load(f->l, "VT0002L9", 1, TV_TAPE_RDONLY, &t, NULL), 0);
	assert_int_equal(tv_tape_read(t, b, sizeof(b), &got), 0);
	assert_memory_equal(b, "data!", 5);
	tv_tape_close(t);
	assert_int_equal(tv_vlib_unload(f->l, 1, NULL), 0);
	/* export refuses to replace files in the target */
	WS(img, "x");
	assert_int_equal(tv_vlib_export(f->l, "VT0002L9", out), TV_ERR_EXISTS);
	assert_int_equal(tv_vlib_find(f->l, "VT0002L9", &e), 0);
	unlink(img);
	/* duplicate insert */
	assert_int_equal(tv_vlib_export(f->l, "VT0002L9", out), 0);
	assert_int_equal(tv_vlib_insert(f->l, img, TV_VLIB_INSERT_COPY, bc, &slot), 0);
	assert_true(tl_exists(img));          /* copied, not moved */
	assert_int_equal(tv_vlib_insert(f->l, img, 0, bc, &slot), TV_ERR_EXISTS);
	assert_non_null(strstr(tv_errdetail(), "already in library lib1"));
	assert_true(tl_exists(img));
	free(out);
	free(img);
	free(sc);
}

static void test_insert_foreign(void **state)
{
	struct fx *f = *state;
	char *bare = tl_path(f->tmp, "VT0007L9.tap");
	char *odd = tl_path(f->tmp, "backup.img");
	char *oddsc = tl_path(f->tmp, "backup.img.json");
	char bc[32], path[4096];
	unsigned slot;
	struct tv_vtape_attrs a;
	struct tv_tape *t = NULL;
	unsigned char rec[] = { 3, 0, 0, 0, 'a', 'b', 'c', 0, 3, 0, 0, 0 };

	/* a bare SIMH image named BARCODE.tap */
	tl_write_file(bare, rec, sizeof(rec), 0644);
	assert_int_equal(tv_vlib_insert(f->l, bare, 0, bc, &slot), 0);
	assert_string_equal(bc, "VT0007L9");
	assert_int_equal(slot, 1);
	assert_int_equal(tv_vlib_tape_path(f->l, "VT0007L9", path, sizeof(path)), 0);
	assert_int_equal(tv_vtape_read_attrs(path, &a), 0);
	assert_string_equal(a.barcode, "VT0007L9");
	assert_int_equal(a.capacity, TV_VLIB_DEFAULT_CAPACITY);
	{   /* it passed through the mail slot and left it empty */
		char *txt = status_text(f);
		assert_non_null(strstr(txt, "Storage Element 5 IMPORT/EXPORT:Empty"));
		assert_non_null(strstr(txt, "Storage Element 1:Full :VolumeTag=VT0007L9"));
		free(txt);
	}
	/* a file with neither sidecar nor barcode name */
	tl_write_file(odd, rec, sizeof(rec), 0644);
	assert_int_equal(tv_vlib_insert(f->l, odd, 0, bc, &slot), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "cannot tell the barcode"));
	assert_true(tl_exists(odd));
	/* with a sidecar naming the barcode it goes in */
	WS(oddsc, "{\"barcode\":\"XY0001L8\",\"capacity\":5000}");
	assert_int_equal(tv_vlib_insert(f->l, odd, 0, bc, &slot), 0);
	assert_string_equal(bc, "XY0001L8");
	assert_int_equal(slot, 2);
	assert_false(tl_exists(odd));
	assert_false(tl_exists(oddsc));
	assert_int_equal(tv_vlib_tape_path(f->l, "XY0001L8", path, sizeof(path)), 0);
	assert_int_equal(tv_vtape_read_attrs(path, &a), 0);
	assert_int_equal(a.capacity, 5000);
	assert_int_equal(tv_vlib_load(f->l, "XY0001L8", 0, TV_TAPE_RDONLY, &t, NULL), 0);
	tv_tape_close(t);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
	/* a sidecar with an invalid barcode */
	tl_write_file(odd, rec, sizeof(rec), 0644);
	WS(oddsc, "{\"barcode\":\"bad one\"}");
	assert_int_equal(tv_vlib_insert(f->l, odd, 0, bc, &slot), TV_ERR_FORMAT);
	WS(oddsc, "{\"barcode\":\"short\"}");
	assert_int_equal(tv_vlib_insert(f->l, odd, 0, bc, &slot), TV_ERR_INVAL);
	assert_non_null(strstr(tv_errdetail(), "not a valid barcode"));
	/* fill the library, then: full */
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0003L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0004L9", 0, 0, NULL), 0);
	tl_write_file(bare, rec, sizeof(rec), 0644);
	{
		char *b2 = tl_path(f->tmp, "VT0008L9.tap");
		tl_write_file(b2, rec, sizeof(rec), 0644);
		assert_int_equal(tv_vlib_insert(f->l, b2, 0, bc, &slot), TV_ERR_NOSPC);
		assert_non_null(strstr(tv_errdetail(), "no free slot"));
		assert_true(tl_exists(b2));
		free(b2);
	}
	assert_int_equal(tv_vlib_insert(f->l, f->tmp, 0, bc, &slot), TV_ERR_INVAL);
	{
		char *nx = tl_path(f->tmp, "nothing.tap");
		assert_int_equal(tv_vlib_insert(f->l, nx, 0, bc, &slot), TV_ERR_NOTFOUND);
		free(nx);
	}
	free(bare);
	free(odd);
	free(oddsc);
}

static void test_corrupt_library_json(void **state)
{
	struct fx *f = *state;
	char *js = tl_path(f->dir, "library.json");
	struct tv_vlib *l2 = NULL;
	static const char *bad[] = {
		"{",
		"[]",
		"{\"format\":\"other\",\"version\":1}",
		"{\"format\":\"tapevault-vlib\",\"version\":1,\"name\":\"x\",\"slots\":2,"
		"\"drives\":1,\"mailslots\":0,\"slot_contents\":[null],"
		"\"drive_contents\":[null],\"mailslot_contents\":[]}",
		"{\"format\":\"tapevault-vlib\",\"version\":1,\"name\":\"x\",\"slots\":2,"
		"\"drives\":1,\"mailslots\":0,\"slot_contents\":[\"VT0001L9\",\"VT0001L9\"],"
		"\"drive_contents\":[null],\"mailslot_contents\":[]}",
		"{\"format\":\"tapevault-vlib\",\"version\":1,\"name\":\"x\",\"slots\":1,"
		"\"drives\":1,\"mailslots\":0,\"slot_contents\":[\"../../etc\"],"
		"\"drive_contents\":[null],\"mailslot_contents\":[]}",
		"{\"format\":\"tapevault-vlib\",\"version\":1,\"name\":\"x\",\"slots\":-1,"
		"\"drives\":1,\"mailslots\":0}",
		"{\"format\":\"tapevault-vlib\",\"version\":1,\"name\":\"x\",\"slots\":1,"
		"\"drives\":1,\"mailslots\":0,\"slot_contents\":[null],"
		"\"drive_contents\":[{\"barcode\":\"VT0001L9\",\"source_slot\":9}],"
		"\"mailslot_contents\":[]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write_file(js, bad[i], strlen(bad[i]), 0644);
		assert_int_equal(tv_vlib_open(f->dir, &l2), TV_ERR_FORMAT);
		assert_non_null(strstr(tv_errdetail(), "library.json"));
	}
	WS(js, "{\"format\":\"tapevault-vlib\",\"version\":2}");
	assert_int_equal(tv_vlib_open(f->dir, &l2), TV_ERR_UNSUPPORTED);
	free(js);
}

static void test_not_a_library(void **state)
{
	struct fx *f = *state;
	struct tv_vlib *l2 = NULL;
	char *lock = tl_path(f->tmp, "library.lock");

	/* probing a directory that holds no library leaves nothing there */
	assert_int_equal(tv_vlib_open(f->tmp, &l2), TV_ERR_NOTFOUND);
	assert_non_null(strstr(tv_errdetail(), "library create"));
	assert_null(l2);
	assert_false(tl_exists(lock));
	free(lock);
}

/* Several processes changing one library at once: the lock serializes
 * them, nothing is lost. */
static void test_concurrent(void **state)
{
	struct fx *f = *state;
	char *dir = tl_path(f->tmp, "busy");
	struct tv_vlib *l2 = NULL;
	char **list = NULL;
	size_t n = 0;
	enum { KIDS = 8 };
	pid_t pids[KIDS];

	assert_int_equal(tv_vlib_create(dir, "busy", KIDS, 1, 0, &l2), 0);
	for (int i = 0; i < KIDS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct tv_vlib *cl = NULL;
			char bc[16];
			snprintf(bc, sizeof(bc), "CC%04dL9", i);
			if (tv_vlib_open(dir, &cl) != 0 ||
			    tv_vlib_new_tape(cl, bc, 4096, 0, NULL) != 0)
				_exit(1);
			tv_vlib_close(cl);
			_exit(0);
		}
	}
	for (int i = 0; i < KIDS; i++) {
		int ws = 0;
		assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	assert_int_equal(tv_vlib_barcodes(l2, &list, &n), 0);
	assert_int_equal(n, KIDS);
	free(list);
	assert_int_equal(tv_vlib_new_tape(l2, "CC9999L9", 0, 0, NULL), TV_ERR_NOSPC);
	tv_vlib_close(l2);
	free(dir);
}

static void test_persistence(void **state)
{
	struct fx *f = *state;
	struct tv_vlib *l2 = NULL;
	struct tv_vlib_elem e;
	struct tv_tape *t = NULL;

	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 1, TV_TAPE_RDONLY, &t, NULL), 0);
	tv_tape_close(t);
	/* another handle (another process) sees the state */
	assert_int_equal(tv_vlib_open(f->dir, &l2), 0);
	assert_int_equal(tv_vlib_find(l2, "VT0001L9", &e), 0);
	assert_int_equal(e.type, TV_ELEM_DRIVE);
	assert_int_equal(e.source_slot, 1);
	assert_int_equal(tv_vlib_unload(l2, 1, NULL), 0);
	tv_vlib_close(l2);
	assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &e), 0);
	assert_int_equal(e.type, TV_ELEM_SLOT);
	assert_int_equal(e.index, 1);
	tv_vlib_close(NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_barcodes),
		cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_tape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_unload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_fault_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_library_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_library, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}

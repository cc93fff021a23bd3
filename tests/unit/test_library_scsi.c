/* Unit tests: the SCSI kind of library (library/vlib_scsi.c) over the
 * emulated changer (library/scsiemu.c): what the changer reports, loads,
 * unloads through the drive's eject, moves, mail slots, the element
 * numbering and mtx-style text, the faults the emulator injects, and a
 * library.json that names devices wrongly. */
#include <stdlib.h>
#include <string.h>

#include "library/vlib.h"
#include "tape/tape.h"
#include "util/err.h"

#include "scsiemu_faults.h"
#include "testlib.h"

struct fx {
	char *dir;
	struct tv_vlib *l;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tl_path(tl_tmpdir("libscsi"), "lib");
	assert_int_equal(tv_vlib_create_emulated(f->dir, "lib", 4, 2, 1, &f->l), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0001L9", 0, 0, NULL), 0);
	assert_int_equal(tv_vlib_new_tape(f->l, "VT0002L9", 0, 0, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tv_scsi_fault_install(NULL);
	tv_vlib_close(f->l);
	free(f->dir);
	free(f);
	return 0;
}

static void test_status(void **state)
{
	struct fx *f = *state;
	struct tv_vlib_info info;
	struct tv_vlib_elem *e = NULL;
	size_t n = 0;
	char *text = NULL;

	assert_string_equal(tv_vlib_kind(f->l), "emulated scsi");
	assert_string_equal(tv_vlib_name(f->l), "lib");
	assert_int_equal(tv_vlib_status(f->l, &info, &e, &n), 0);
	assert_int_equal(info.drives, 2);
	assert_int_equal(info.slots, 4);
	assert_int_equal(info.mailslots, 1);
	assert_non_null(strstr(info.changer, "TAPEVALT EMULATED LIB"));
	assert_int_equal(n, 7);
	assert_int_equal(e[0].type, TV_ELEM_DRIVE);
	assert_int_equal(e[2].type, TV_ELEM_SLOT);
	assert_int_equal(e[2].index, 1);
	assert_string_equal(e[2].barcode, "VT0001L9");
	assert_true(e[2].full);
	assert_int_equal(e[6].type, TV_ELEM_MAILSLOT);
	free(e);
	assert_int_equal(tv_vlib_status_text(f->l, &text), 0);
	assert_non_null(strstr(text, "  Storage Changer lib (emulated TAPEVALT EMULATED LIB 0001):"
	                              "2 Drives, 5 Slots ( 1 Import/Export )\n"
	                              "Data Transfer Element 0:Empty\n"
	                              "Data Transfer Element 1:Empty\n"
	                              "      Storage Element 1:Full :VolumeTag=VT0001L9\n"
	                              "      Storage Element 2:Full :VolumeTag=VT0002L9\n"
	                              "      Storage Element 3:Empty\n"));
	assert_non_null(strstr(text, "      Storage Element 5 IMPORT/EXPORT:Empty\n"));
	free(text);
}

static void test_load_unload(void **state)
{
	struct fx *f = *state;
	struct tv_vlib_elem el;
	struct tv_tape *t = NULL;
	char *text = NULL;
	unsigned d = 9, slot = 0;

	assert_int_equal(tv_vlib_load(f->l, "VT0002L9", TV_VLIB_ANY_DRIVE, TV_TAPE_RDWR, &t, &d), 0);
	assert_int_equal(d, 0);
	assert_non_null(strstr(t->name, "VT0002L9 in drive 0 of library lib"));
	assert_int_equal(tv_vlib_find(f->l, "VT0002L9", &el), 0);
	assert_int_equal(el.type, TV_ELEM_DRIVE);
	assert_int_equal(el.source_slot, 2);
	assert_int_equal(tv_vlib_status_text(f->l, &text), 0);
	assert_non_null(strstr(text, "Data Transfer Element 0:Full (Storage Element 2 Loaded)"
	                             ":VolumeTag = VT0002L9\n"));
	free(text);
	/* open: the drive cannot eject it, the changer cannot take it */
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), TV_ERR_STATE);
	/* another load into the full drive; the same cartridge elsewhere */
	{
		struct tv_tape *t2 = NULL;
		assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, TV_TAPE_RDONLY, &t2, NULL),
		                 TV_ERR_STATE);
		assert_int_equal(tv_vlib_load(f->l, "VT0002L9", 1, TV_TAPE_RDONLY, &t2, NULL),
		                 TV_ERR_STATE);
	}
	assert_int_equal(tv_tape_close(t), 0);
	/* the slot it came from is held for it */
	assert_int_equal(tv_vlib_unload(f->l, 0, &slot), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), TV_ERR_STATE);
	assert_int_equal(tv_vlib_unload_if_loaded(f->l, 0), 0);
	assert_int_equal(tv_vlib_unload(f->l, 5, NULL), TV_ERR_INVAL);
	assert_int_equal(tv_vlib_load(f->l, "VT0009L9", 0, TV_TAPE_RDONLY, &t, NULL),
	                 TV_ERR_NOTFOUND);
}

static void test_move_and_mail(void **state)
{
	struct fx *f = *state;
	struct tv_vlib_loc a, b;
	struct tv_vlib_elem el;
	char **list = NULL, *box = tl_path(tl_tmpdir("box"), "box"), *img, where[300];
	size_t n = 0;

	assert_int_equal(tv_vlib_parse_loc("slot:1", &a), 0);
	assert_int_equal(tv_vlib_parse_loc("drive:1", &b), 0);
	assert_int_equal(tv_vlib_move(f->l, &a, &b), 0);
	assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &el), 0);
	assert_int_equal(el.type, TV_ELEM_DRIVE);
	assert_int_equal(el.index, 1);
	/* out of the drive (ejected first) into the mail slot */
	assert_int_equal(tv_vlib_parse_loc("mail:1", &a), 0);
	assert_int_equal(tv_vlib_move(f->l, &b, &a), 0);
	assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &el), 0);
	assert_int_equal(el.type, TV_ELEM_MAILSLOT);
	/* refusals: full target, empty source, no such element */
	assert_int_equal(tv_vlib_parse_loc("slot:2", &b), 0);
	assert_int_equal(tv_vlib_move(f->l, &a, &b), TV_ERR_EXISTS);
	assert_int_equal(tv_vlib_parse_loc("slot:3", &a), 0);
	assert_int_equal(tv_vlib_move(f->l, &a, &b), TV_ERR_NOTFOUND);
	assert_int_equal(tv_vlib_parse_loc("slot:9", &a), 0);
	assert_int_equal(tv_vlib_move(f->l, &a, &b), TV_ERR_INVAL);
	assert_int_equal(tv_vlib_parse_loc("slot:0", &a), TV_ERR_INVAL);
	assert_int_equal(tv_vlib_parse_loc("shelf:1", &a), TV_ERR_INVAL);
	/* export from the mail slot: the files leave */
	assert_int_equal(tv_vlib_export_to(f->l, "VT0001L9", box, where, sizeof(where)), 0);
	assert_string_equal(where, box);
	img = tl_path(box, "VT0001L9.tap");
	assert_true(tl_exists(img));
	assert_int_equal(tv_vlib_barcodes(f->l, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
	/* and back in: through the mail slot, the robot puts it away */
	{
		char bc[32];
		unsigned slot = 0;
		assert_int_equal(tv_vlib_insert(f->l, img, 0, bc, &slot), 0);
		assert_string_equal(bc, "VT0001L9");
		assert_int_equal(slot, 1);
	}
	assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &el), 0);
	assert_int_equal(el.type, TV_ELEM_SLOT);
	{
		char path[512];
		assert_int_equal(tv_vlib_tape_path(f->l, "VT0001L9", path, sizeof(path)), 0);
		assert_non_null(strstr(path, "/lib/VT0001L9.tap"));
	}
	free(img);
	free(box);
}

static void test_faults(void **state)
{
	struct fx *f = *state;
	struct tv_scsi_fault_spec spec = { 1, 0, "VT0002L9" };
	struct tv_vlib_elem el, *e = NULL;
	struct tv_tape *t = NULL;
	char **list = NULL, *text = NULL;
	size_t n = 0;

	tv_scsi_fault_install(&spec);
	/* the robot fails: the cartridge stays where it was */
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, TV_TAPE_RDONLY, &t, NULL), TV_ERR_IO);
	assert_non_null(strstr(tv_errdetail(), "HARDWARE ERROR, mechanical positioning error "
	                                       "(ASC/ASCQ 15h/01h)"));
	assert_non_null(strstr(tv_errdetail(), "from slot 1 to drive 0"));
	assert_int_equal(tv_vlib_find(f->l, "VT0001L9", &el), 0);
	assert_int_equal(el.type, TV_ELEM_SLOT);
	assert_int_equal(tv_vlib_load(f->l, "VT0001L9", 0, TV_TAPE_RDONLY, &t, NULL), 0);
	assert_int_equal(tv_tape_close(t), 0);
	assert_int_equal(tv_vlib_unload(f->l, 0, NULL), 0);
	/* an unreadable label: full, no barcode, a note; not found by barcode */
	assert_int_equal(tv_vlib_status(f->l, NULL, &e, &n), 0);
	assert_true(e[3].full);
	assert_string_equal(e[3].barcode, "");
	assert_true(e[3].except);
	assert_non_null(strstr(e[3].note, "volume tag unreadable"));
	assert_non_null(strstr(e[3].note, "83h/09h"));
	free(e);
	assert_int_equal(tv_vlib_find(f->l, "VT0002L9", &el), TV_ERR_NOTFOUND);
	assert_non_null(strstr(tv_errdetail(), "slot 2 holds a cartridge whose volume tag it "
	                                       "cannot read"));
	assert_int_equal(tv_vlib_barcodes(f->l, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(tv_vlib_status_text(f->l, &text), 0);
	assert_non_null(strstr(text, "      Storage Element 2:Full (volume tag unreadable"));
	free(text);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	struct tv_vlib *l = NULL;
	char *path = tl_path(f->dir, "library.json"), *orig;
	size_t n;
	static const char *const bad[] = {
		"{\"format\":\"tapevault-scsi-library\",\"version\":2,\"name\":\"lib\","
		"\"changer\":\"emulated\",\"drives\":[\"emulated:0\"]}",
		"{\"format\":\"tapevault-scsi-library\",\"version\":1,\"name\":\"lib\","
		"\"changer\":\"emulated\",\"drives\":[]}",
		"{\"format\":\"tapevault-scsi-library\",\"version\":1,\"name\":\"lib\","
		"\"changer\":\"emulated\",\"drives\":[\"/dev/nst0\"]}",
		"{\"format\":\"tapevault-scsi-library\",\"version\":1,\"name\":\"lib\","
		"\"changer\":\"emulated\",\"drives\":[\"emulated:0\",\"emulated:1\","
		"\"emulated:2\"]}",
		"{\"format\":\"tapevault-scsi-library\",\"version\":1,\"name\":\"l b\","
		"\"changer\":\"emulated\",\"drives\":[\"emulated:0\"]}",
		"{\"format\":\"something-else\"}",
	};
	static const int want[] = { TV_ERR_UNSUPPORTED, TV_ERR_FORMAT, TV_ERR_FORMAT,
	                            TV_ERR_FORMAT, TV_ERR_FORMAT, TV_ERR_FORMAT };

	orig = (char *)tl_read_file(path, &n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write_file(path, bad[i], strlen(bad[i]), 0644);
		assert_int_equal(tv_vlib_open(f->dir, &l), want[i]);
		assert_null(l);
	}
	/* a configured export slot: slot 4 becomes mail slot 2 */
	{
		const char *ok = "{\"format\":\"tapevault-scsi-library\",\"version\":1,\"name\":\"lib\","
		                 "\"changer\":\"emulated\",\"drives\":[\"emulated:0\"],"
		                 "\"export_slots\":[4]}";
		struct tv_vlib_info info;
		tl_write_file(path, ok, strlen(ok), 0644);
		assert_int_equal(tv_vlib_open(f->dir, &l), 0);
		assert_int_equal(tv_vlib_status(l, &info, NULL, NULL), 0);
		assert_int_equal(info.slots, 3);
		assert_int_equal(info.mailslots, 2);
		assert_int_equal(info.drives, 1);
		tv_vlib_close(l);
	}
	tl_write_file(path, orig, n, 0644);
	free(orig);
	free(path);
	/* a real changer that is not there */
	{
		const char *dv[] = { "/dev/nst-tapevault-none" };
		char *dir = tl_path(tl_tmpdir("real"), "real");
		assert_int_equal(tv_vlib_add_scsi(dir, "real", "/dev/sg-tapevault-none", dv, 1, &l),
		                 TV_ERR_NOTFOUND);
		assert_false(tl_exists(dir));
		free(dir);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_unload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_and_mail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return tl_run(argc, argv, tests, NULL, NULL);
}

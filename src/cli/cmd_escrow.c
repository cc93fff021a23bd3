/* tapevault CLI: escrow (password loss protection).  Placeholder until
 * the escrow authority lands: every command says so and fails. */
#include "cli/cli.h"
#include "util/err.h"

static int not_yet(struct cli *c, const char *what)
{
	return cli_fail(c, tv_errf(TV_ERR_UNSUPPORTED, "%s: escrow is not available in this "
	                           "version yet", what), NULL);
}

int cmd_escrow_keygen(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow keygen"); }
int cmd_escrow_public(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow public"); }
int cmd_escrow_enable(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow enable"); }
int cmd_escrow_request(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow request"); }
int cmd_escrow_respond(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow respond"); }
int cmd_escrow_apply(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow apply"); }
int cmd_escrow_recover(struct cli *c, int argc, char **argv) { (void)argc; (void)argv; return not_yet(c, "escrow recover"); }

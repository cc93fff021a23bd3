/* tapevault web: the console's files, built into the binary from
 * src/web/assets/ (tools/embed-assets.sh writes the table at build time),
 * so the server needs nothing from the file system or the network. */
#include <string.h>

#include "web/web_int.h"

const struct tv_asset *tv_asset_find(const char *name)
{
	for (const struct tv_asset *a = tv_web_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

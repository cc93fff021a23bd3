#ifndef TV_PATH_H
#define TV_PATH_H
#include <sys/types.h>
/* mkdir -p: missing parents get parent_mode, the last component
 * last_mode; existing directories are left as they are. */
int tv_mkdir_p(const char *path, mode_t parent_mode, mode_t last_mode);
#endif

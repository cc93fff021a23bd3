#ifndef TV_RESTORE_INT_H
#define TV_RESTORE_INT_H
/* 1 when p is a relative path without empty, "." or ".." components */
int tv_restore_safe_path(const char *p);
#endif

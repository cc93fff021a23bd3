/* tapevault: hexadecimal digits, the one place that reads them. */
#ifndef TV_UTIL_HEX_H
#define TV_UTIL_HEX_H

/* The value of one hex digit (either case), or -1. */
int tv_hexval(char c);

#endif

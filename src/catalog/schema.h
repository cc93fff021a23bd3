#ifndef TV_SCHEMA_H
#define TV_SCHEMA_H
/* migrations[i] takes the schema from version i to i+1 */
extern const char *const tv_schema_migrations[];
extern const int tv_schema_count;
#endif

/* tapevault catalog: SQLite's dialect as PostgreSQL takes it (db_int.h).
 *
 * A scanner, not a parser: it walks the text once, copies string literals,
 * quoted identifiers and comments untouched, and rewrites only tokens
 * outside them.  The jobs' SQL is written to need little: placeholders,
 * INSERT OR IGNORE, LIKE's case rule, scalar min() and max(), the one column named with a word
 * PostgreSQL reserves (tapes.full) and, in the schema, column types. */
#include "catalog/db_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct out {
	char *p;
	size_t len, cap;
	int bad;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->bad)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *p;
		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->bad = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static int is_word(int c) { return isalnum(c) || c == '_'; }

/* The word starting at s (letters, digits, '_'), its length. */
static size_t word_len(const char *s)
{
	size_t n = 0;

	while (is_word((unsigned char)s[n]))
		n++;
	return n;
}

static int word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* The next word after s (skipping blanks), or NULL. */
static const char *next_word(const char *s, size_t *n)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	*n = word_len(s);
	return *n ? s : NULL;
}

/* Copies a quoted run starting at s (quote q, doubled to escape); returns
 * the first character after it, or NULL when it does not end. */
static const char *quoted(struct out *o, const char *s, char q)
{
	const char *e = s + 1;

	for (;;) {
		if (*e == '\0')
			return NULL;
		if (*e == q) {
			if (e[1] == q) {
				e += 2;
				continue;
			}
			break;
		}
		e++;
	}
	put(o, s, (size_t)(e + 1 - s));
	return e + 1;
}

/* Whether the parenthesised list at s ('(') has more than one argument:
 * a comma at its own depth, outside quotes. */
static int has_two_args(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (*s == '\'' || *s == '"') {
			char q = *s;
			for (s++; *s && *s != q; s++)
				;
			if (!*s)
				return 0;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')') {
			if (--depth == 0)
				return 0;
		} else if (*s == ',' && depth == 1) {
			return 1;
		}
	}
	return 0;
}

/* Whether the join after "CROSS JOIN" (s: right after JOIN) has an ON
 * clause: "table [alias] ON". */
static int cross_join_on(const char *s)
{
	size_t n;
	const char *w = next_word(s, &n);

	if (w == NULL)
		return 0;
	w = next_word(w + n, &n);
	if (w != NULL && !word_is(w, n, "ON"))
		w = next_word(w + n, &n);
	return w != NULL && word_is(w, n, "ON");
}

char *tv_sql_to_pg(const char *sql, int ddl, int *nparams)
{
	struct out o = { 0 };
	const char *s = sql;
	int max_param = 0, ignore = 0;
	size_t n0;
	const char *w0 = next_word(sql, &n0);

	/* a statement that makes or changes a table (a job's temporary table
	 * too) takes the schema's type rules */
	if (w0 != NULL && (word_is(w0, n0, "CREATE") || word_is(w0, n0, "ALTER")))
		ddl = 1;

	while (*s && !o.bad) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'' || c == '"') {
			if ((s = quoted(&o, s, (char)c)) == NULL)
				goto fail;
			continue;
		}
		if (c == '-' && s[1] == '-') {
			const char *e = strchr(s, '\n');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			put(&o, s, n);
			s += n;
			continue;
		}
		if (c == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			if (e == NULL)
				goto fail;
			put(&o, s, (size_t)(e + 2 - s));
			s = e + 2;
			continue;
		}
		if (c == '?') {
			char num[16];
			int n = 0;
			s++;
			if (isdigit((unsigned char)*s)) {
				while (isdigit((unsigned char)*s) && n < 1000)
					n = n * 10 + (*s++ - '0');
				if (n < 1 || n > 999)
					goto fail;
			} else {
				n = max_param + 1;
			}
			if (n > 999)
				goto fail;
			if (n > max_param)
				max_param = n;
			snprintf(num, sizeof(num), "$%d", n);
			puts_(&o, num);
			continue;
		}
		if ((c == 'X' || c == 'x') && s[1] == '\'' && (s == sql || !is_word((unsigned char)s[-1]))) {
			/* a blob literal: X'00ff' */
			const char *e = strchr(s + 2, '\'');
			if (e == NULL)
				goto fail;
			puts_(&o, "'\\x");
			put(&o, s + 2, (size_t)(e - s - 2));
			puts_(&o, "'::bytea");
			s = e + 1;
			continue;
		}
		if (is_word(c) && (s == sql || !is_word((unsigned char)s[-1]))) {
			size_t n = word_len(s), n2, n3;
			const char *w2 = next_word(s + n, &n2), *w3;
			if (word_is(s, n, "INSERT") && w2 && word_is(w2, n2, "OR")) {
				w3 = next_word(w2 + n2, &n3);
				if (w3 && word_is(w3, n3, "IGNORE")) {
					puts_(&o, "INSERT");
					s = w3 + n3;
					ignore = 1;
					continue;
				}
				goto fail;   /* OR REPLACE and the rest: say it, do not guess */
			}
			if (word_is(s, n, "full") &&
			    !(w2 && (word_is(w2, n2, "JOIN") || word_is(w2, n2, "OUTER")))) {
				/* a column of tapes; a reserved word in PostgreSQL */
				puts_(&o, "\"full\"");
				s += n;
				continue;
			}
			if (word_is(s, n, "INDEXED") && w2 && word_is(w2, n2, "BY")) {
				/* SQLite's index hint: PostgreSQL plans by itself */
				w3 = next_word(w2 + n2, &n3);
				if (w3 == NULL)
					goto fail;
				s = w3 + n3;
				continue;
			}
			if (word_is(s, n, "CROSS") && w2 && word_is(w2, n2, "JOIN") &&
			    cross_join_on(w2 + n2)) {
				/* SQLite's way to fix the join order; an inner join */
				s = w2;
				continue;
			}
			if (ddl && word_is(s, n, "offset")) {
				/* a column of schema 1's parts table */
				puts_(&o, "\"offset\"");
				s += n;
				continue;
			}
			if ((word_is(s, n, "MIN") || word_is(s, n, "MAX")) && s[n] == '(' &&
			    has_two_args(s + n)) {
				/* SQLite's scalar min(a, b) and max(a, b) */
				puts_(&o, word_is(s, n, "MIN") ? "LEAST" : "GREATEST");
				s += n;
				continue;
			}
			if (word_is(s, n, "temp") && s[n] == '.') {
				/* SQLite's schema of temporary tables */
				puts_(&o, "pg_temp");
				s += n;
				continue;
			}
			if (word_is(s, n, "LIKE")) {
				puts_(&o, "ILIKE");
				s += n;
				continue;
			}
			if (ddl && word_is(s, n, "INTEGER") && w2 && word_is(w2, n2, "PRIMARY")) {
				w3 = next_word(w2 + n2, &n3);
				if (w3 && word_is(w3, n3, "KEY")) {
					puts_(&o, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
					s = w3 + n3;
					continue;
				}
			}
			if (ddl && word_is(s, n, "INTEGER")) {
				puts_(&o, "BIGINT");
				s += n;
				continue;
			}
			if (ddl && word_is(s, n, "BLOB")) {
				puts_(&o, "BYTEA");
				s += n;
				continue;
			}
			if (ddl && word_is(s, n, "WITHOUT") && w2 && word_is(w2, n2, "ROWID")) {
				s = w2 + n2;
				continue;
			}
			put(&o, s, n);
			s += n;
			continue;
		}
		put(&o, s, 1);
		s++;
	}
	if (ignore) {
		/* the clause goes at the end of the statement, before any ';' */
		size_t end = o.len;
		while (end > 0 && strchr(" \t\n;", o.p[end - 1]))
			end--;
		o.len = end;
		o.p[end] = '\0';
		puts_(&o, " ON CONFLICT DO NOTHING");
	}
	if (o.bad)
		goto fail;
	if (nparams != NULL)
		*nparams = max_param;
	if (o.p == NULL)
		return strdup("");
	return o.p;
fail:
	free(o.p);
	return NULL;
}

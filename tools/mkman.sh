#!/bin/sh
# Writes the tapevault(1) man page to stdout, generated from the binary's
# own help texts ('tapevault help' and 'tapevault CMD --help'), so the page
# never says something the program does not.  With GROUP, the page is
# tapevault-GROUP(1): the commands of one group (tape, pool, kms, ...).
#   usage: tools/mkman.sh path/to/tapevault VERSION [OUT.1 [GROUP]]   (else stdout)
set -eu
T=$1
VERSION=${2:-}
GROUP=${4:-}
if [ $# -ge 3 ]; then
	exec >"$3.tmp"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
HOME=$tmp TAPEVAULT_HOME=$tmp/home "$T" help >"$tmp/help"

# roff-escape a text line: backslashes, and a leading '.' or '\''
esc() {
	sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'
}

if [ -n "$GROUP" ]; then
	UP=$(printf '%s' "$GROUP" | tr '[:lower:]' '[:upper:]')
	cat <<ROFF
.TH TAPEVAULT-$UP 1 "" "tapevault $VERSION" "User Commands"
.SH NAME
tapevault-$GROUP \\- the tapevault $GROUP commands
.SH SYNOPSIS
ROFF
else
	cat <<ROFF
.TH TAPEVAULT 1 "" "tapevault $VERSION" "User Commands"
.SH NAME
tapevault \\- tape backup with per-tape keys held in a KMS, in passwords or in escrow
.SH SYNOPSIS
ROFF
fi
head -n 1 "$tmp/help" | sed -e 's/^usage: //' -e "s/COMMAND \[ARGS\]/${GROUP:+$GROUP }COMMAND [ARGS]/" | esc
echo ".SH DESCRIPTION"
# the paragraph between the usage line and the command list
sed -n '3,/Commands:$/p' "$tmp/help" | sed -E 's/ +Commands:$//' | esc
echo ".SH COMMANDS"
# command names: the first column of the list (two or more spaces end it)
sed -n '/Commands:$/,/^State:/p' "$tmp/help" | grep '^  [a-z]' |
	sed -E 's/^  ([a-z]+( [a-z]+)*)( {2,}.*)?$/\1/' | sed 's/ *$//' >"$tmp/all"
if [ -n "$GROUP" ]; then
	grep -E "^$GROUP( |\$)" "$tmp/all" >"$tmp/cmds" || {
		echo "mkman: no command group '$GROUP'" >&2
		exit 1
	}
else
	cp "$tmp/all" "$tmp/cmds"
fi
while IFS= read -r cmd; do
	# shellcheck disable=SC2086
	HOME=$tmp TAPEVAULT_HOME=$tmp/home "$T" $cmd --help >"$tmp/one" 2>&1 || true
	echo ".SS $cmd"
	echo ".nf"
	sed 's/^usage: //' "$tmp/one" | esc
	echo ".fi"
done <"$tmp/cmds"
echo ".SH ENVIRONMENT AND EXIT STATUS"
sed -n '/^State:/,$p' "$tmp/help" | esc
echo ".SH SEE ALSO"
if [ -n "$GROUP" ]; then
	echo ".BR tapevault (1)"
else
	# the group pages
	cut -d' ' -f1 "$tmp/all" | sort | uniq -d | while IFS= read -r g; do
		echo ".BR tapevault\\-$g (1),"
	done
	cat <<'ROFF'
the README, docs/FORMAT.md (the on-tape format), docs/SECURITY.md and
docs/HARDWARE.md in the source distribution.
ROFF
fi
if [ $# -ge 3 ]; then
	mv "$3.tmp" "$3"
fi

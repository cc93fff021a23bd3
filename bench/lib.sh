# The benchmark scripts' shared prologue: source it first thing.  The
# script's own opening comment (after the #! line) is its usage; -h or
# --help prints it, no argument prints it and exits 2; die names the
# script.
me=${0##*/}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
case ${1:-} in
-h | --help) usage; exit 0 ;;
"") usage >&2; exit 2 ;;
esac
die() { printf '%s: %s\n' "$me" "$*" >&2; exit 1; }

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

# catalog_tree DIR PER: the tree the catalog benchmarks (catalog_scale.sh,
# catalog_pg.sh) write and query, the same in both so that their queries'
# expected line counts hold: 1000 directories d000..d999 of PER empty files
# each; every 1000th file (from the 8th on) is cNNNNNNN.conf, the others
# fNNNNNNN.dat.
catalog_tree() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
root, per = sys.argv[1], int(sys.argv[2])
i = 0
for d in range(1000):
    dd = os.path.join(root, "d%03d" % d)
    os.makedirs(dd)
    for _ in range(per):
        name = ("c%07d.conf" if i % 1000 == 7 else "f%07d.dat") % i
        open(os.path.join(dd, name), "w").close()
        i += 1
EOF
}

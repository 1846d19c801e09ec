#!/usr/bin/env bash
# Are two report folders the same report? For a change that must not change what a run
# writes (a refactoring, a dependency bump):
#
#   bench/same_report.sh BEFORE/2026-10-31 AFTER/2026-10-31
#
# - every data file (data/*.csv, data/*.parquet) byte-identical; a CSV that is not is
#   compared again as sorted rows, and reported either way;
# - every page identical once the "Generated <time>" footer is masked;
# - the same set of files in data/ and of pages.
# Exit 0 when all hold, 1 otherwise (each difference is printed).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BEFORE_FOLDER AFTER_FOLDER" >&2; exit 2; }
a=$1; b=$2
status=0
list() { (cd "$1" && find data -maxdepth 1 -type f | sort; ls ./*.html 2>/dev/null | sort); }
if ! diff <(list "$a") <(list "$b") >/dev/null; then
  echo "different files:"; diff <(list "$a") <(list "$b"); status=1
fi
n=0
for f in $(cd "$a" && find data -maxdepth 1 -type f | sort); do
  [ -f "$b/$f" ] || continue
  n=$((n + 1))
  if ! cmp -s "$a/$f" "$b/$f"; then
    case $f in
      *.csv) if diff <(sort "$a/$f") <(sort "$b/$f") >/dev/null; then
               echo "$f: same rows, other order"; else echo "$f: different rows"; fi ;;
      *) echo "$f: different bytes" ;;
    esac
    status=1
  fi
done
mask() { sed -E 's/Generated [0-9T:Z-]+ by/Generated <time> by/' "$1"; }
p=0
for f in $(cd "$a" && ls ./*.html 2>/dev/null); do
  [ -f "$b/$f" ] || continue
  p=$((p + 1))
  if ! diff -q <(mask "$a/$f") <(mask "$b/$f") >/dev/null; then
    echo "$f: differs:"; diff <(mask "$a/$f") <(mask "$b/$f") | head -20; status=1
  fi
done
echo "compared $n data files and $p pages: $([ $status -eq 0 ] && echo same || echo DIFFERENT)"
exit $status

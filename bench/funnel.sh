#!/usr/bin/env bash
# window_funnel() against the plain-SQL method (window functions) on the same events.
#   bench/funnel.sh [EVENTS]      (default 10000000; Parquet sample made with `sample`)
# Prints wall time and peak RSS of each query, the difference to the baseline scan, and
# checks that both give the same customers per number of funnel stages reached. Needs GNU time
# (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
cargo build --release --quiet
bin=target/release/journey-report
data=bench/data/$n
[ -f "$data/events.parquet" ] || "$bin" sample --events "$n" --seed 7 --out "$data" --format parquet
src=(--source "events=$data/events.parquet" --source "customers=$data/customers.csv"
     --source "transactions=$data/transactions.csv" --source "spend=$data/spend.csv")
run() { # name sql-file
  local out="bench/data/funnel-$1-$n.csv"
  /usr/bin/time -f "%e %M" -o "bench/data/time-$1" \
    "$bin" query --project . --as-of 2026-10-31 "${src[@]}" --format csv -- "$(cat "bench/$2")" > "$out" 2>/dev/null
  read -r secs kb < "bench/data/time-$1"
  printf '%-14s %8.2f s %8.0f MiB\n' "$1" "$secs" "$((kb / 1024))"
  echo "$secs" > "bench/data/secs-$1"
}
echo "funnel stages reached over $n events (5 stages, 7-day window), $(nproc) cores"
run baseline funnel_baseline.sql
run window_funnel funnel_window_funnel.sql
run plain_sql funnel_plain_sql.sql
diff -q "bench/data/funnel-window_funnel-$n.csv" "bench/data/funnel-plain_sql-$n.csv" >/dev/null \
  && echo "same customers per stages reached: yes" || { echo "same customers per stages reached: NO"; exit 1; }
b=$(cat bench/data/secs-baseline); w=$(cat bench/data/secs-window_funnel); p=$(cat bench/data/secs-plain_sql)
python3 -c "b,w,p=$b,$w,$p; print(f'funnel work beyond the scan: window_funnel {w-b:.2f} s, plain SQL {p-b:.2f} s, ratio {(p-b)/max(w-b,0.01):.1f}x')"

#!/usr/bin/env bash
# Semantic check of the DuckDB SQL on edge cases the sample does not have: the 1M CSV sample
# plus bench/edge/*-extra.csv — an event_id exported twice with different contents, padded
# and empty text, the 30-minute gap exactly, timestamps with and without an offset, the
# as-of and period boundaries, the October DST change, a repeated order_id, a status
# 'Completed ', funnel stages at equal times and at exactly 7 days, a chain crossing the
# period start, touchpoints at exactly 30 days and at the order time, equal session starts,
# a session whose first event has no channel. Compares every compared model and the staging
# tables (stg_events, stg_sessions, stg_orders, stg_order_touchpoints).
#   bench/check_edges.sh          (BENCH_BIN / BENCH_PROJECT as in run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-target/release/journey-report}
project=${BENCH_PROJECT:-.}
py=bench/.venv/bin/python
src=bench/data/1000000/csv
[ -f "$src/events.csv" ] || "$bin" sample --events 1000000 --seed 7 --out "$src" --format csv
d=bench/data/edge
rm -rf "$d"; mkdir -p "$d"
cp "$src/customers.csv" "$src/spend.csv" "$d/"
cat "$src/events.csv" bench/edge/events-extra.csv > "$d/events.csv"
cat "$src/transactions.csv" bench/edge/transactions-extra.csv > "$d/transactions.csv"
# The staging models are compared too: a copy of the project that writes them all as CSV.
mkdir -p "$d/project"
cp -r "$project/journey.toml" "$project/sql" "$project/templates" "$d/project/"
[ -d "$project/assets" ] && cp -r "$project/assets" "$d/project/"
sed -i '/^data_file/d' "$d/project/journey.toml"
"$bin" run --project "$d/project" --as-of 2026-10-31 --out "$d/ours" --source "events=$d/events.csv" \
  --source "customers=$d/customers.csv" --source "transactions=$d/transactions.csv" \
  --source "spend=$d/spend.csv" > "$d/ours.log" 2>&1
"$py" bench/duckdb_run.py --project "$project" --events "$d/events.csv" --customers "$d/customers.csv" \
  --transactions "$d/transactions.csv" --spend "$d/spend.csv" --out "$d/duckdb" --write-staging 2> "$d/duckdb.log"
"$py" bench/compare.py "$d/ours/2026-10-31/data" "$d/duckdb"

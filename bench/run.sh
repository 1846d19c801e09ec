#!/usr/bin/env bash
# journey-report against DuckDB on the same analyses over the same files.
#
#   bench/run.sh [SIZES...]          (default: 1000000 10000000 100000000 events)
#
# Environment:
#   BENCH_FORMATS="parquet csv"   event formats to run (default both)
#   BENCH_CSV_100M=1              also run CSV at sizes >= 100M (off by default: ~8 GB of CSV)
#   BENCH_BIN=path                use this journey-report binary instead of building one
#   BENCH_PROJECT=dir             the project to run (default: this repository, the bundled one)
#   BENCH_TMP=dir                 scratch folder for report folders and spill files
#                                 (default bench/data/tmp; emptied after each run)
#   BENCH_MEMORY_LIMIT_FROM=N     from this many events on, both run with a 4 GiB memory limit
#                                 and spill to disk (default 100000000)
#
# For each size and format: `journey-report run` on the bundled project and
# bench/duckdb_run.py (DuckDB, 2 threads) each under /usr/bin/time; bench/compare.py checks
# that both give the same numbers. Prints a Markdown table and writes it to
# bench/results-<timestamp>.md.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000 100000000)
formats=(${BENCH_FORMATS:-parquet csv})
big=${BENCH_MEMORY_LIMIT_FROM:-100000000}
tmp=${BENCH_TMP:-$root/bench/data/tmp}
project=${BENCH_PROJECT:-$root}
duckdb_version=2.0.1
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

# 1. The binary.
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --locked || exit 2
  bin=$root/target/release/journey-report
fi

# 2. DuckDB in a venv.
venv=$root/bench/.venv
py=$venv/bin/python
if ! "$py" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
  [ -x "$py" ] || python3 -m venv "$venv" || exit 2
  "$venv/bin/pip" install --quiet "duckdb==$duckdb_version" || exit 2
fi

# 3. Machine.
ts=$(date -u +%Y%m%dT%H%M%SZ)
results=$root/bench/results-$ts.md
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ram=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
machine="- $(nproc) CPUs: ${cpu:-unknown}
- RAM: $ram; kernel: $(uname -sr)
- $("$bin" --version) (binary: $bin)
- DuckDB $("$py" -c 'import duckdb; print(duckdb.__version__)') (Python $("$py" -c 'import platform; print(platform.python_version())'), threads = 2)
- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "## Machine"; echo "$machine"; echo

rows=()
timing_notes=()
mkdir -p "$root/bench/data"
log=$root/bench/data/results-$ts.log
: > "$log"

cpu_busy() { # percent of all CPUs busy over one second
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
    split(a, x); split(b, y); t = 0
    for (i = 2; i <= 9; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d", (t > 0) ? 100 * (t - idle) / t : 0 }'
}
busy_notes=()

fmt_cell() { [ -n "$1" ] && echo "$1" || echo "$2"; }

# Runs a command under GNU time; sets t_wall t_cpu t_rss (or t_fail).
measure() { # name cmd...
  local name=$1; shift
  local tf="$tmp/time-$name" busy
  # Other work on the machine skews wall times: measure the CPU use of the second before.
  busy=$(cpu_busy)
  if [ "$busy" -gt 10 ]; then
    echo "warning: CPUs ${busy}% busy before $name: something else is running" | tee -a "$log" >&2
    busy_notes+=("$n $fmt $name: CPUs ${busy}% busy just before")
  fi
  t_fail=""
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >>"$log" 2>&1
  local rc=$?
  # GNU time writes "Command exited with non-zero status N" before the numbers.
  read -r w u s m < <(tail -n1 "$tf")
  t_wall=$w
  t_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
  t_rss=$(( m / 1024 ))
  if [ $rc -ne 0 ]; then t_fail="failed (exit $rc)"; fi
  return $rc
}

for n in "${sizes[@]}"; do
  data=$root/bench/data/$n
  for fmt in "${formats[@]}"; do
    if [ "$fmt" = csv ] && [ "$n" -ge 100000000 ] && [ "${BENCH_CSV_100M:-0}" != 1 ]; then
      echo "skip: $n events as CSV (set BENCH_CSV_100M=1)"; continue
    fi
    dir=$data/$fmt
    if [ ! -f "$dir/events.$fmt" ]; then
      echo "generating $n events ($fmt) …"
      "$bin" sample --events "$n" --seed 7 --out "$dir" --format "$fmt" || exit 2
    fi
    rm -rf "$tmp"; mkdir -p "$tmp"
    ours_out=$tmp/ours; duck_out=$tmp/duckdb
    ours_extra=(); duck_extra=()
    if [ "$n" -ge "$big" ]; then
      ours_extra=(--memory-limit 4GiB --spill-dir "$tmp/spill-ours")
      duck_extra=(--memory-limit 4GiB --temp-dir "$tmp/spill-duckdb")
      mkdir -p "$tmp/spill-ours"
    fi
    echo "== $n events, $fmt" | tee -a "$log"
    measure ours "$bin" run --project "$project" --as-of 2026-10-31 --out "$ours_out" \
      --source "events=$dir/events.$fmt" --source "customers=$dir/customers.csv" \
      --source "transactions=$dir/transactions.csv" --source "spend=$dir/spend.csv" \
      "${ours_extra[@]}"
    o_ok=$?; o_wall=$t_wall; o_cpu=$t_cpu; o_rss=$t_rss; o_fail=$t_fail
    echo "ours:   ${o_fail:-ok} ${o_wall} s wall, ${o_cpu} s CPU, ${o_rss} MiB"
    measure duckdb "$py" bench/duckdb_run.py --events "$dir/events.$fmt" \
      --customers "$dir/customers.csv" --transactions "$dir/transactions.csv" \
      --spend "$dir/spend.csv" --out "$duck_out" --project "$project" --threads 2 "${duck_extra[@]}"
    d_ok=$?; d_wall=$t_wall; d_cpu=$t_cpu; d_rss=$t_rss; d_fail=$t_fail
    echo "duckdb: ${d_fail:-ok} ${d_wall} s wall, ${d_cpu} s CPU, ${d_rss} MiB"

    same="— (a run failed)"
    if [ $o_ok -eq 0 ] && [ $d_ok -eq 0 ]; then
      same=no
      "$py" bench/compare.py "$ours_out/2026-10-31/data" "$duck_out" | tee -a "$log" \
        | grep -v '^     not compared' ; [ "${PIPESTATUS[0]}" -eq 0 ] && same=yes
      ratio=$(awk -v a="$o_wall" -v b="$d_wall" 'BEGIN {printf "%.2f", a / b}')
      # Per-model seconds: ours from manifest.json, DuckDB from timings.json.
      timing_notes+=("$("$py" - "$ours_out/2026-10-31/manifest.json" "$duck_out/timings.json" "$n" "$fmt" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
ours = {s["name"]: s["seconds"] for s in m["steps"]}
print(f"### {int(sys.argv[3]):,} events, {sys.argv[4]}: seconds per model\n")
print("| model | ours | DuckDB |\n|---|---:|---:|")
names = [k for k in d if k != "total"] + sorted(k for k in ours if k not in d)
for k in names:
    o = f"{ours[k]:.2f}" if k in ours else ""
    merged = {"stg_events_distinct": "stg_events", "stg_funnel_customers": "funnel",
              "stg_journeys": "paths"}
    dd = f"{d[k]:.2f}" if k in d else (f"(in {merged[k]})" if k in merged else "—")
    print(f"| {k} | {o} | {dd} |")
print(f"| **total run** | {m['seconds']:.2f} | {d['total']:.2f} |")
EOF
)")
    else
      ratio="—"
    fi
    rows+=("| $(printf "%'d" "$n" 2>/dev/null || echo "$n") | $fmt | $(fmt_cell "$o_fail" "$o_wall") | $o_cpu | $o_rss | $(fmt_cell "$d_fail" "$d_wall") | $d_cpu | $d_rss | $ratio | $same |")
    rm -rf "$tmp"
  done
done

table="| events | format | ours wall s | ours CPU s | ours peak RSS MiB | DuckDB wall s | DuckDB CPU s | DuckDB peak RSS MiB | wall ratio ours/DuckDB | same numbers |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
for r in "${rows[@]}"; do table+=$'\n'"$r"; done
{
  echo "# journey-report vs DuckDB — $ts"; echo
  echo "## Machine"; echo "$machine"; echo
  echo "## Results"; echo
  echo "ours = \`journey-report run\` of the whole bundled project (every model, HTML pages, CSVs);"
  echo "DuckDB = bench/duckdb/*.sql (the compared models and their staging). CPU = user + sys."
  echo; echo "$table"; echo
  if [ ${#busy_notes[@]} -gt 0 ]; then
    echo "Other work was running on the machine (times are skewed):"
    for b in "${busy_notes[@]}"; do echo "- $b"; done; echo
  fi
  for t in "${timing_notes[@]}"; do echo "$t"; echo; done
} > "$results"
echo; echo "$table"; echo; echo "written: $results (log: $log)"

#!/usr/bin/env bash
# Drift check: the DuckDB translations (bench/duckdb/*.sql) must give the same numbers as the
# project's own models (sql/) on the bundled sample data. CI runs it after the tests.
#
#   bench/check_duckdb.sh
#
# Runs the bundled project (`journey-report run --project . --as-of 2026-10-31`, sources from
# journey.toml: sample-data/) and bench/duckdb_run.py on the same sample-data/ files, then
# bench/compare.py on every model DuckDB computes (bench/duckdb/NN_<model>.sql, stg_* aside).
# Exits 0 when every one agrees, 1 on any difference or missing file, 2 when a run or the
# setup fails. DuckDB is never optional here: it is installed (duckdb==2.0.1 from PyPI, as
# bench/run.sh pins it) into bench/.venv, and a failed install fails the check.
#
# Environment: BENCH_BIN=path uses that binary instead of `cargo build --release --locked`.
set -uo pipefail
cd "$(dirname "$0")/.."
duckdb_version=2.0.1
as_of=2026-10-31

fail() { echo "check_duckdb: $*" >&2; exit 2; }

# 1. The binary.
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --locked --quiet || fail "cargo build failed"
  bin=${CARGO_TARGET_DIR:-target}/release/journey-report
fi
[ -x "$bin" ] || fail "no binary at $bin"

# 2. DuckDB, pinned, in a venv.
venv=bench/.venv
py=$venv/bin/python
if ! "$py" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
  [ -x "$py" ] || python3 -m venv "$venv" || fail "cannot create $venv (python3 -m venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$duckdb_version" \
    || fail "cannot install duckdb==$duckdb_version into $venv"
  "$py" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" \
    || fail "duckdb $duckdb_version is not importable from $py"
fi

# 3. Both runs on the sample data.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_duckdb.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
"$bin" run --project . --as-of "$as_of" --out "$tmp/ours" > "$tmp/ours.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/ours.log" >&2; fail "journey-report run failed (exit $rc)"; }
"$py" bench/duckdb_run.py --project . --as-of "$as_of" --events sample-data/events.csv \
  --customers sample-data/customers.csv --transactions sample-data/transactions.csv \
  --spend sample-data/spend.csv --out "$tmp/duckdb" > "$tmp/duckdb.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/duckdb.log" >&2; fail "bench/duckdb_run.py failed (exit $rc)"; }

# 4. Every model of bench/duckdb/ that is written (not stg_*), named: a model DuckDB did not
# write, or ours lacks, is a difference too.
models=()
for f in bench/duckdb/*.sql; do
  m=$(basename "$f" .sql); m=${m#[0-9]*_}
  [[ $m == stg_* ]] || models+=("$m")
done
[ ${#models[@]} -gt 0 ] || fail "no models in bench/duckdb/"
echo "comparing ${#models[@]} models (journey-report $("$bin" --version | awk '{print $2}') vs DuckDB $duckdb_version, sample-data/, as of $as_of)"
"$py" bench/compare.py "$tmp/ours/$as_of/data" "$tmp/duckdb" "${models[@]}"
rc=$?
if [ $rc -eq 0 ]; then
  echo "check_duckdb: OK, bench/duckdb/ agrees with sql/"
else
  echo "check_duckdb: DIFF, bench/duckdb/ and sql/ disagree (fix the translation or the model)" >&2
  exit 1
fi

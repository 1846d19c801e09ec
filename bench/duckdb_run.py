#!/usr/bin/env python3
"""Runs the DuckDB version of the journey-report analyses (bench/duckdb/*.sql).

    duckdb_run.py --events E --customers C --transactions T [--spend S] --out DIR
                  [--as-of 2026-10-31] [--threads 2] [--memory-limit 4GB] [--temp-dir DIR]

Reads the exports the way journey-report's input contract does (src/sources/register.rs and
journey.toml): events.customer_id from `user_id`, event_time from `event_timestamp`
(RFC 3339 in CSV, a timestamp column in Parquet); customers.signup_at from `signup_date`
('%Y-%m-%d %H:%M:%S', UTC); transactions.order_time RFC 3339; text trimmed, empty text NULL.
Timestamps are kept as TIMESTAMP in UTC; days and hours are bucketed in `report_tz`.

Parameters come from journey.toml [params] over journey-report's defaults; $as_of_end,
$period_start and $previous_period_start are computed as src/journey/params.rs resolve_params does.
They are pasted into the SQL as typed literals.

Each file bench/duckdb/NN_<model>.sql is one query, run as CREATE TEMP TABLE <model> AS …;
every model whose name does not start with stg_ is written to <out>/<model>.csv.
Per-model wall times go to <out>/timings.json and to stderr.
"""

import argparse
import datetime as dt
import json
import re
import sys
import time
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent

# journey-report's DEFAULT_PARAMS (src/journey/params.rs), overridden by journey.toml [params].
DEFAULT_PARAMS = {
    "report_tz": "UTC",
    "period_days": 30,
    "lookback_days": 30,
    "conversion_window_days": 7,
    "session_gap_minutes": 30,
    "session_split_on_campaign": True,
    "conversion_event": "purchase",
    "top_paths": 20,
    "path_start_event": "add_to_cart",
    "path_end_event": "purchase",
    "path_steps": 4,
    "ltv_buckets": 10,
    "trend_days": 365,
    "time_decay_half_life_days": 7.0,
    "markov_order": 1,
    "clv_horizon_months": 12,
    "clv_monthly_discount_rate": 0.01,
    "churn_p_alive_threshold": 0.5,
    "clv_holdout_days": 90,
}


def resolve_params(cfg: dict, as_of: dt.date) -> dict:
    params = dict(DEFAULT_PARAMS)
    params.update(cfg.get("params", {}))
    # As src/journey/params.rs: non-converting journeys span the report period unless set.
    params.setdefault("non_converting_window_days", params["period_days"])
    tz = ZoneInfo(params["report_tz"])
    days = int(params["period_days"])

    def midnight_utc(d: dt.date) -> dt.datetime:
        local = dt.datetime(d.year, d.month, d.day, tzinfo=tz)  # fold=0: the earlier instant
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    start = as_of + dt.timedelta(days=1) - dt.timedelta(days=days)
    params["as_of"] = as_of
    params["as_of_end"] = midnight_utc(as_of + dt.timedelta(days=1))
    params["period_start"] = midnight_utc(start)
    params["previous_period_start"] = midnight_utc(start - dt.timedelta(days=days))
    return params


def literal(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    return "'" + str(v).replace("'", "''") + "'"


def bind(sql: str, params: dict, path: Path) -> str:
    def sub(m):
        name = m.group(1)
        if name not in params:
            sys.exit(f"{path}: unknown parameter ${name}")
        return literal(params[name])

    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", sub, sql)


def text(col: str, alias: str) -> str:
    return f"NULLIF(trim({col}), '') AS {alias}"


def register_sources(con, args, cfg):
    ev = args.events
    ev_cols = cfg["sources"]["events"].get("columns", {})
    cust_cols = cfg["sources"]["customers"].get("columns", {})
    cust_id, ev_time = ev_cols.get("customer_id", "customer_id"), ev_cols.get("event_time", "event_time")
    signup = cust_cols.get("signup_at", "signup_at")
    if ev.endswith(".parquet"):
        src = f"read_parquet('{ev}')"
        ts = f"CAST({ev_time} AS TIMESTAMPTZ)::TIMESTAMP"  # session TimeZone is UTC
    else:
        # Declared schema, as journey-report's contract: everything text, timestamps RFC 3339.
        src = (f"read_csv('{ev}', header = true, auto_detect = false, "
               f"columns = {{'event_id': 'VARCHAR', '{cust_id}': 'VARCHAR', '{ev_time}': 'TIMESTAMPTZ', "
               f"'event_name': 'VARCHAR', 'channel': 'VARCHAR', 'campaign': 'VARCHAR', "
               f"'device': 'VARCHAR', 'session_id': 'VARCHAR'}})")
        ts = f"{ev_time}::TIMESTAMP"
    con.execute(f"""
        CREATE VIEW events AS SELECT
            {text('event_id', 'event_id')}, {text(cust_id, 'customer_id')},
            {ts} AS event_time, {text('event_name', 'event_name')},
            {text('channel', 'channel')}, {text('campaign', 'campaign')},
            {text('device', 'device')}, {text('session_id', 'session_id')}
        FROM {src}""")
    con.execute(f"""
        CREATE VIEW customers AS SELECT
            {text('customer_id', 'customer_id')}, {text('email', 'email')},
            {text('full_name', 'full_name')},
            strptime({signup}, '%Y-%m-%d %H:%M:%S') AS signup_at,
            {text('acquisition_channel', 'acquisition_channel')}, {text('country', 'country')}
        FROM read_csv('{args.customers}', header = true, auto_detect = false,
            columns = {{'customer_id': 'VARCHAR', 'email': 'VARCHAR', 'full_name': 'VARCHAR',
                        '{signup}': 'VARCHAR', 'acquisition_channel': 'VARCHAR', 'country': 'VARCHAR'}})""")
    con.execute(f"""
        CREATE VIEW transactions AS SELECT
            {text('order_id', 'order_id')}, {text('customer_id', 'customer_id')},
            order_time::TIMESTAMP AS order_time, amount,
            {text('currency', 'currency')}, {text('status', 'status')}
        FROM read_csv('{args.transactions}', header = true, auto_detect = false,
            columns = {{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_time': 'TIMESTAMPTZ',
                        'amount': 'DOUBLE', 'currency': 'VARCHAR', 'status': 'VARCHAR'}})""")
    if args.spend:
        con.execute(f"""
            CREATE VIEW spend AS SELECT
                timezone('{cfg['sources']['spend'].get('timezone', 'UTC')}', CAST(date AS TIMESTAMP))::TIMESTAMP AS date,
                {text('channel', 'channel')}, {text('campaign', 'campaign')}, cost
            FROM read_csv('{args.spend}', header = true, auto_detect = false,
                columns = {{'date': 'DATE', 'channel': 'VARCHAR', 'campaign': 'VARCHAR', 'cost': 'DOUBLE'}})""")
    # The ordered funnel of journey.toml [funnel].
    rows = []
    for i, st in enumerate(cfg["funnel"]["stages"], start=1):
        for e in st["events"]:
            rows.append(f"({i}, {literal(st['name'])}, {literal(e)})")
    con.execute("CREATE TEMP TABLE funnel_stages (stage_index BIGINT, stage VARCHAR, event_name VARCHAR)")
    con.execute("INSERT INTO funnel_stages VALUES " + ", ".join(rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", required=True, help="events.parquet or events.csv")
    ap.add_argument("--customers", required=True)
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--spend")
    ap.add_argument("--out", required=True, help="folder for <model>.csv")
    ap.add_argument("--as-of", default="2026-10-31")
    ap.add_argument("--project", default=str(PROJECT), help="folder with journey.toml")
    ap.add_argument("--sql-dir", default=str(HERE / "duckdb"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", help="e.g. 4GB")
    ap.add_argument("--temp-dir", help="spill folder")
    ap.add_argument("--write-staging", action="store_true",
                    help="also write the stg_* tables to CSV (for checking, not timed runs)")
    args = ap.parse_args()

    cfg = tomllib.loads((Path(args.project) / "journey.toml").read_text())
    params = resolve_params(cfg, dt.date.fromisoformat(args.as_of))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {args.threads}")
    con.execute("SET TimeZone = 'UTC'")
    # The funnel's ASOF joins: the planner's row estimate for the later stages is tiny (35
    # rows for 88k at 1M events), which picks the nested-loop ASOF plan (O(n*m)); always use
    # the sort-merge ASOF join.
    con.execute("SET asof_loop_join_threshold = 0")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    if args.temp_dir:
        Path(args.temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{args.temp_dir}'")
    register_sources(con, args, cfg)

    timings = {}
    for path in sorted(Path(args.sql_dir).glob("*.sql")):
        model = re.sub(r"^\d+_", "", path.stem)
        sql = bind(path.read_text(), params, path).strip().rstrip(";")
        t = time.perf_counter()
        try:
            con.execute(f"CREATE TEMP TABLE {model} AS {sql}")
            if args.write_staging or not model.startswith("stg_"):
                con.execute(f"COPY {model} TO '{out / (model + '.csv')}' (HEADER, DELIMITER ',')")
        except duckdb.Error as e:
            sys.exit(f"{path.name}: {e}")
        timings[model] = round(time.perf_counter() - t, 3)
        rows = con.execute(f"SELECT count(*) FROM {model}").fetchone()[0]
        print(f"  duckdb {model:<24} {timings[model]:8.3f} s {rows:>12} rows", file=sys.stderr)
    timings["total"] = round(time.perf_counter() - t0, 3)
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(f"  duckdb total {timings['total']:.3f} s (duckdb {duckdb.__version__}, "
          f"{args.threads} threads)", file=sys.stderr)


if __name__ == "__main__":
    main()

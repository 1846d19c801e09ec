#!/usr/bin/env python3
"""Compares journey-report's data/<model>.csv with DuckDB's <model>.csv.

    compare.py OURS_DATA_DIR DUCKDB_OUT_DIR [MODEL ...]

For each model DuckDB wrote (or the ones named): the columns of DuckDB's file are compared
(journey-report's file may have more, e.g. funnel's stage-time percentiles; they are listed as
not compared). Rows are matched after sorting both files the same way; numbers must agree
within 1e-6 relative or 1e-9 absolute, text (and empty = NULL) must be identical.
Prints one OK/DIFF line per model and the first differing rows; exits 1 on any difference.
"""

import csv
import math
import sys
from pathlib import Path

REL, ABS = 1e-6, 1e-9
SHOW = 5


def num(s):
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def sort_key(row):
    key = []
    for cell in row:
        v = num(cell)
        if v is None:
            key.append((1, 0.0, cell))
        else:  # rounded so that last-digit noise does not change the order
            key.append((0, float(f"{v:.6g}"), ""))
    return key


def same(a, b):
    if a == b:
        return True
    x, y = num(a), num(b)
    if x is None or y is None:
        return False
    return abs(x - y) <= ABS or abs(x - y) <= REL * max(abs(x), abs(y))


def compare(model, ours_file, duck_file):
    oh, orows = read(ours_file)
    dh, drows = read(duck_file)
    missing = [c for c in dh if c not in oh]
    if missing:
        return False, [f"columns missing in ours: {missing}"]
    idx = [oh.index(c) for c in dh]
    orows = sorted(([r[i] for i in idx] for r in orows), key=sort_key)
    drows = sorted(drows, key=sort_key)
    notes = []
    extra = [c for c in oh if c not in dh]
    if extra:
        notes.append(f"not compared: {', '.join(extra)}")
    problems = []
    if len(orows) != len(drows):
        problems.append(f"rows: ours {len(orows)}, duckdb {len(drows)}")
    shown = 0
    for n, (o, d) in enumerate(zip(orows, drows), start=1):
        bad = [c for c, x, y in zip(dh, o, d) if not same(x, y)]
        if bad:
            if shown < SHOW:
                problems.append(f"row {n} differs in {bad}:\n      ours   {o}\n      duckdb {d}")
            shown += 1
    if shown > SHOW:
        problems.append(f"… {shown - SHOW} more differing rows")
    return not problems, problems + notes


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ours, duck = Path(sys.argv[1]), Path(sys.argv[2])
    models = sys.argv[3:] or sorted(p.stem for p in duck.glob("*.csv"))
    ok_all = True
    for m in models:
        of, df = ours / f"{m}.csv", duck / f"{m}.csv"
        if not of.exists() or not df.exists():
            print(f"DIFF {m}: missing file {of if not of.exists() else df}")
            ok_all = False
            continue
        ok, lines = compare(m, of, df)
        ok_all &= ok
        print(f"{'OK  ' if ok else 'DIFF'} {m}" + ("" if ok else ""))
        for line in lines:
            print(f"     {line}")
    sys.exit(0 if ok_all else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write data/crm.sqlite: the SYNTHETIC example's deals as a CRM database would hold them.

The same rows as data/reports/sales-pipeline.deals.csv, in a `deals` table with database-style
column names and types (amounts and probabilities as REAL, close dates as ISO text, as SQLite
keeps dates). data/databases.yaml names it `crm`; data/reports/crm-accounts.yaml reads it, and the
tests build sales-pipeline from it to check it gives the same files as the CSV. Run it again after
changing the CSV: `python3 make_crm_database.py`.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CSV = HERE / "data" / "reports" / "sales-pipeline.deals.csv"
TARGET = HERE / "data" / "crm.sqlite"
SCHEMA = """
CREATE TABLE deals (
    account     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    region      TEXT NOT NULL,
    stage       TEXT NOT NULL,
    amount      REAL NOT NULL,
    probability REAL NOT NULL,
    close_date  TEXT NOT NULL          -- YYYY-MM-DD
);
"""


def build(target: Path = TARGET) -> None:
    target.unlink(missing_ok=True)
    with CSV.open(encoding="utf-8", newline="") as source:
        rows = [(r["Account"], r["Owner"], r["Region"], r["Stage"], float(r["Amount"]), float(r["Probability"]),
                 r["Close date"]) for r in csv.DictReader(source)]
    with sqlite3.connect(target) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    sqlite3.connect(target).close()


if __name__ == "__main__":
    build()
    print(f"wrote {TARGET}", file=sys.stderr)

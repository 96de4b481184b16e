#!/usr/bin/env python3
"""Time the collection lookup every request makes, with and without its two counts.

Standard library only. DB is a SQLite store that `netra bench load --n N --db DB` wrote (its
faces all in `default`). The two queries are the ones `SQLiteStore+Collections.swift` runs for
`collection(named:counted: true)` and `collection(named:counted: false)`; median of --repeat
runs each (BENCHMARKS.md, "Collection lookups").

usage: benchmarks/collection_lookup.py DB [--name default] [--repeat 7]
"""
import argparse
import sqlite3
import statistics
import time

COUNTED = """SELECT c.id, c.name, c.created_at, c.strict_unknown,
    (SELECT count(*) FROM subjects s WHERE s.collection_id = c.id) AS subject_count,
    (SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE s.collection_id = c.id) AS face_count
    FROM collections c WHERE c.name = ? ORDER BY c.id"""
UNCOUNTED = """SELECT c.id, c.name, c.created_at, c.strict_unknown, 0 AS subject_count, 0 AS face_count
    FROM collections c WHERE c.name = ? ORDER BY c.id"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--name", default="default")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    for label, sql in (("counted", COUNTED), ("uncounted", UNCOUNTED)):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            row = db.execute(sql, (args.name,)).fetchone()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label}: median {statistics.median(times):.2f} ms over {args.repeat} "
              f"(subjects {row[4]}, faces {row[5]})")


if __name__ == "__main__":
    main()

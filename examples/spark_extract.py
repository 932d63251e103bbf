#!/usr/bin/env python3
"""Extract many captures into one Parquet lake with Spark, then query it with Spark SQL.

    spark-submit examples/spark_extract.py --wiretale target/release/wiretale \
        --lake /data/lake [--list captures.txt] [--split-mb 256] [CAPTURE ...]

(or `python examples/spark_extract.py ...` where pyspark is installed: it starts a
local[*] Spark). docs/lake.md says how to run it and what a cluster needs.

What it does:
1. ships the wiretale binary with the job (`SparkContext.addFile`; each task finds
   its copy with `SparkFiles.get`), so executors need no install;
2. makes one task per capture, or, for a capture bigger than --split-mb, N tasks
   `wiretale extract PATH --split I/N` (N = size / split-mb, rounded up): each task
   reads the whole file so connection state runs from the start, and analyses the
   connections whose flow hashes to I of N, never a run of packets;
3. distributes the tasks over the executors (`sc.parallelize(tasks, len(tasks))`,
   one partition per task); each runs `wiretale extract PATH --out LAKE` into the
   same lake: the Hive-style layout (`LAKE/<table>/date=D/capture=NAME/part-I.parquet`)
   means tasks never write the same file;
4. reads the lake back (`spark.read.option("basePath", ...).parquet(...)`, the
   partition columns `date` and `capture` discovered from the paths) and runs the
   questions of docs/lake.md in Spark SQL.

The captures and the lake must be paths every executor sees: in local mode the
machine's own disk; on a cluster a shared mount (NFS, a FUSE mount of HDFS or of an
object store that supports rename), since wiretale writes local files and renames
each part into place when it is complete.
"""

import argparse
import json
import math
import os
import stat
import subprocess
import sys
import time

from pyspark import SparkFiles
from pyspark.sql import SparkSession

TABLES = ["conns", "dns", "http", "tls", "story"]

# The questions of docs/lake.md in Spark SQL (the DuckDB versions are in
# tests/lake/questions.sql, which tests/lake.rs checks).
QUESTIONS = {
    "conns_per_name": """
SELECT name_qname AS name, name_source AS source, count(*) AS conns,
       count(DISTINCT capture) AS captures
FROM conns
WHERE name_qname IS NOT NULL
GROUP BY name_qname, name_source
ORDER BY conns DESC, name, source""",
    "refused": """
SELECT capture, id, client_ip, server_ip, server_port, first_ts
FROM conns
WHERE state = 'REJ'
ORDER BY capture, id""",
    "ttfb_per_host": """
SELECT host, count(*) AS exchanges,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ttfb) * 1000, 3) AS p50_ms,
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ttfb) * 1000, 3) AS p90_ms
FROM http
WHERE ttfb IS NOT NULL
GROUP BY host
ORDER BY exchanges DESC, host NULLS LAST""",
    "lookups_per_client": """
SELECT client_ip, qname, count(*) AS lookups, count(response_ts) AS answered
FROM dns
GROUP BY client_ip, qname
ORDER BY lookups DESC, client_ip, qname NULLS LAST""",
    "lookup_conn_fetch": """
WITH named AS (
  SELECT c.capture, c.id AS conn, d.qname, d.rtt AS dns_rtt, c.server_ip, c.first_ts,
         row_number() OVER (PARTITION BY c.capture, c.id
                            ORDER BY d.response_ts DESC) AS latest
  FROM conns c
  JOIN dns d
    ON c.name_source = 'dns' AND d.capture = c.capture AND d.client_ip = c.client_ip
   AND d.qname = c.name_qname AND d.response_ts <= c.first_ts
   AND exists(d.answers, a -> a.data = c.server_ip)
)
SELECT n.capture, n.qname, round(n.dns_rtt * 1000, 3) AS dns_ms, n.conn, n.server_ip,
       h.method, h.uri, h.status
FROM named n
JOIN http h ON h.capture = n.capture AND h.conn = n.conn
WHERE n.latest = 1
ORDER BY n.capture, n.conn, h.seq""",
}


def plan(paths, split_bytes):
    """(path, i, n) for every task: n > 1 for a capture bigger than split_bytes."""
    tasks = []
    for p in paths:
        size = os.path.getsize(p)
        n = max(1, math.ceil(size / split_bytes)) if split_bytes > 0 else 1
        tasks.extend((p, i, n) for i in range(n))
    return tasks


def run_task(task, binary_name, lake, extra):
    """One task, on an executor: `wiretale extract PATH --out LAKE [--split I/N]`.
    Returns what the driver reports: the exit code and the last line of stderr."""
    path, i, n = task
    binary = SparkFiles.get(binary_name)
    # addFile does not keep the execute bit everywhere.
    mode = os.stat(binary).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    cmd = [binary, "extract", path, "--out", lake] + extra
    if n > 1:
        cmd += ["--split", f"{i}/{n}"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    err = r.stderr.strip().splitlines()
    return {
        "capture": path,
        "split": f"{i}/{n}",
        "rc": r.returncode,
        "seconds": round(time.monotonic() - t0, 2),
        "stderr": err[-1] if err else "",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("captures", nargs="*", help="capture files (paths every executor sees)")
    ap.add_argument("--list", help="a file with one capture path per line")
    ap.add_argument("--wiretale", required=True, help="the wiretale binary to ship")
    ap.add_argument("--lake", required=True, help="the lake directory (shared by every executor)")
    ap.add_argument(
        "--split-mb",
        type=float,
        default=256,
        help="split a capture bigger than this into ceil(size/this) tasks by flow hash (0: never)",
    )
    ap.add_argument("--force", action="store_true", help="overwrite parts already in the lake")
    ap.add_argument("--tables", help="passed to extract (default: every table but packets)")
    ap.add_argument("--no-extract", action="store_true", help="only query an existing lake")
    ap.add_argument("--answers", help="also write every question's rows to this JSON file")
    ap.add_argument(
        "--explain",
        metavar="DATE,CAPTURE",
        help="print the plan of a conns query on one date and capture (partition pruning)",
    )
    a = ap.parse_args()

    paths = list(a.captures)
    if a.list:
        with open(a.list, encoding="utf-8") as f:
            paths += [l.strip() for l in f if l.strip() and not l.startswith("#")]
    paths = [os.path.abspath(p) for p in paths]
    lake = os.path.abspath(a.lake)
    if not paths and not a.no_extract:
        ap.error("no captures given")

    spark = (
        SparkSession.builder.appName("wiretale-extract")
        # Parquet timestamps are UTC instants: show them as UTC.
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    sc = spark.sparkContext

    if not a.no_extract:
        sc.addFile(os.path.abspath(a.wiretale))
        name = os.path.basename(a.wiretale)
        extra = (["--force"] if a.force else []) + (["--tables", a.tables] if a.tables else [])
        tasks = plan(paths, int(a.split_mb * 1024 * 1024))
        t0 = time.monotonic()
        results = (
            sc.parallelize(tasks, len(tasks))
            .map(lambda t: run_task(t, name, lake, extra))
            .collect()
        )
        wall = time.monotonic() - t0
        failed = 0
        for r in results:
            # Exit 2: a damaged capture, whose readable part was still written.
            ok = r["rc"] in (0, 2)
            failed += not ok
            print(
                f"{'ok ' if ok else 'ERR'} {r['split']:>5} {r['seconds']:7.2f}s rc={r['rc']} "
                f"{os.path.basename(r['capture'])}" + (f"  ({r['stderr']})" if r["stderr"] else "")
            )
        print(f"{len(tasks)} tasks over {len(paths)} captures in {wall:.1f} s, {failed} failed")
        if failed:
            sys.exit(1)

    for t in TABLES:
        d = os.path.join(lake, t)
        if os.path.isdir(d):
            # basePath: the table's root, so that date= and capture= become columns.
            spark.read.option("basePath", d).parquet(d).createOrReplaceTempView(t)
    answers = {}
    for qname, sql in QUESTIONS.items():
        print(f"-- {qname}")
        df = spark.sql(sql)
        df.show(40, truncate=False)
        if a.answers:
            answers[qname] = [
                [v.isoformat() if hasattr(v, "isoformat") else v for v in r] for r in df.collect()
            ]
    if a.answers:
        with open(a.answers, "w", encoding="utf-8") as f:
            json.dump(answers, f, indent=1)
    if a.explain:
        date, capture = a.explain.split(",", 1)
        spark.sql(
            f"SELECT count(*) FROM conns WHERE date = DATE '{date}' AND capture = '{capture}'"
        ).explain()
    spark.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks a lake written by `wiretale extract` with DuckDB against the JSON commands.

Usage: check.py LAKE JSONDIR          (run by tests/lake.rs with the venv's python)
       check.py LAKE --show           (print the answers to tests/lake/questions.sql)
       check.py LAKE --markdown       (the same as docs/lake.md's "Questions" section)

JSONDIR/<capture>/<cmd>.jsonl holds what `wiretale <cmd> --json` printed for the
capture whose partition value is <capture> (cmd: conns, dns, http, story). Every
expected answer is computed here from those records, never written down; DuckDB
computes the same from the Parquet tables. Prints one line per check; exits 1 with
the differences when any fails.
"""

import json
import math
import os
import re
import sys
from collections import Counter, defaultdict

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ["conns", "dns", "http", "tls", "story"]


def questions():
    """The named questions of questions.sql, in order: {name: sql}."""
    text = open(os.path.join(HERE, "questions.sql"), encoding="utf-8").read()
    out = {}
    for part in re.split(r"^-- name: ", text, flags=re.M)[1:]:
        name, _, body = part.partition("\n")
        out[name.strip()] = body.strip()
    return out


def connect(lake):
    """A DuckDB connection with one view per table of the lake (a table no capture
    wrote a row of is absent from disk: its view is left out)."""
    con = duckdb.connect()
    for t in TABLES:
        if os.path.isdir(os.path.join(lake, t)):
            con.execute(
                f"CREATE VIEW {t} AS SELECT * FROM read_parquet("
                f"'{lake}/{t}/**/*.parquet', hive_partitioning = true)"
            )
    return con


def rows(con, sql):
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def load(jsondir):
    """{capture: {cmd: [record]}}"""
    out = {}
    for cap in sorted(os.listdir(jsondir)):
        out[cap] = {}
        for cmd in ["conns", "dns", "http", "story"]:
            with open(os.path.join(jsondir, cap, cmd + ".jsonl"), encoding="utf-8") as f:
                out[cap][cmd] = [json.loads(l) for l in f if l.strip()]
    return out


def quantile_cont(values, q):
    """DuckDB's quantile_cont: linear interpolation between the closest ranks."""
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def ms(x):
    return None if x is None else round(x * 1000, 3)


class Checker:
    def __init__(self):
        self.failures = []

    def same(self, what, got, want, close=None):
        """got and want: lists of tuples (compared in order) or dicts/sets."""
        ok = got == want if close is None else close(got, want)
        if isinstance(want, dict) and len(want) == 1:
            counts = f"{want} expected, {got} from DuckDB"
        else:
            counts = f"{len(want)} expected, {len(got)} from DuckDB"
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {counts}")
        if not ok:
            msg = [f"{what}:"]
            if isinstance(want, dict) and isinstance(got, dict):
                for k in sorted(set(want) | set(got), key=repr):
                    if want.get(k) != got.get(k):
                        msg.append(f"  {k!r}: JSON {want.get(k)!r}, DuckDB {got.get(k)!r}")
            else:
                w, g = list(want), list(got)
                msg.append(f"  only in JSON:   {[x for x in w if x not in g][:20]!r}")
                msg.append(f"  only in DuckDB: {[x for x in g if x not in w][:20]!r}")
                if sorted(w, key=repr) == sorted(g, key=repr):
                    msg.append("  (same rows, different order)")
            self.failures.append("\n".join(msg))


def close_rows(tol):
    """Rows equal but for floats within tol (the rounded milliseconds)."""

    def eq(a, b):
        if isinstance(a, float) or isinstance(b, float):
            return a is not None and b is not None and abs(a - b) <= tol
        return a == b

    def close(got, want):
        return len(got) == len(want) and all(
            len(g) == len(w) and all(eq(x, y) for x, y in zip(g, w)) for g, w in zip(got, want)
        )

    return close


def check(lake, jsondir):
    recs = load(jsondir)
    con = connect(lake)
    q = questions()
    c = Checker()
    present = {
        t for t in TABLES if rows(con, f"SELECT count(*) AS n FROM duckdb_views() WHERE view_name = '{t}'")[0]["n"]
    }
    missing = [t for t in TABLES if t not in present]
    c.same("tables in the lake", missing, [])
    if missing:
        print("\n".join(c.failures), file=sys.stderr)
        sys.exit(1)

    # Every row carries its capture: the file column agrees with the partition path.
    for t in TABLES:
        got = rows(con, f"SELECT DISTINCT capture, schema_version FROM {t}")
        bad = [r for r in got if r["capture"] not in recs or r["schema_version"] is None]
        c.same(f"{t}: capture and schema_version of every row", bad, [])

    # Row counts per capture == the JSON commands' record counts.
    for t in TABLES:
        want = {}
        for cap, r in recs.items():
            n = (
                sum(1 for x in r["conns"] if x.get("tls") is not None)
                if t == "tls"
                else len(r[t])
            )
            if n:
                want[cap] = n
        got = {
            r["capture"]: r["n"]
            for r in rows(con, f"SELECT capture, count(*) AS n FROM {t} GROUP BY capture")
        }
        c.same(f"{t}: rows per capture", got, want)

    # Every row that names a connection joins it.
    for t, key in [("http", "conn"), ("dns", "conn"), ("tls", "conn"), ("story", "conn")]:
        orphans = rows(
            con,
            f"SELECT x.capture, x.{key} FROM {t} x ANTI JOIN conns c "
            f"ON c.capture = x.capture AND c.id = x.{key} WHERE x.{key} IS NOT NULL",
        )
        c.same(f"{t}: rows whose conn is not in conns", orphans, [])
    want = sum(1 for r in recs.values() for x in r["dns"] if x.get("conn") is not None)
    got = rows(
        con, "SELECT count(*) AS n FROM dns d JOIN conns c ON c.capture = d.capture AND c.id = d.conn"
    )[0]["n"]
    c.same("dns: rows joined to their connection", {"rows": got}, {"rows": want})
    # community_id: the tls rows' equal their connection's.
    bad = rows(
        con,
        "SELECT t.capture, t.conn FROM tls t JOIN conns c ON c.capture = t.capture "
        "AND c.id = t.conn WHERE t.community_id IS DISTINCT FROM c.community_id",
    )
    c.same("tls: community_id equal to its connection's", bad, [])

    # Connections per server name.
    names = Counter()
    caps = defaultdict(set)
    for cap, r in recs.items():
        for x in r["conns"]:
            n = x.get("name")
            if n and n.get("qname") is not None:
                names[(n["qname"], n.get("source"))] += 1
                caps[(n["qname"], n.get("source"))].add(cap)
    want = sorted(
        ((k[0], k[1], v, len(caps[k])) for k, v in names.items()),
        key=lambda t: (-t[2], t[0], t[1] or ""),
    )
    got = [tuple(r.values()) for r in rows(con, q["conns_per_name"])]
    c.same("conns_per_name", got, want)

    # Refused connections.
    want = sorted(
        (cap, x["id"], x["client"]["ip"], x["server"]["ip"], x["server"]["port"])
        for cap, r in recs.items()
        for x in r["conns"]
        if x["state"] == "REJ"
    )
    got = [
        (r["capture"], r["id"], r["client_ip"], r["server_ip"], r["server_port"])
        for r in rows(con, q["refused"])
    ]
    c.same("refused", got, want)
    # ... and their first_ts is the JSON's, as a UTC timestamp.
    want_ts = {
        (cap, x["id"]): x["first_ts"]
        for cap, r in recs.items()
        for x in r["conns"]
        if x["state"] == "REJ"
    }
    got_ts = {
        (r["capture"], r["id"]): r["first_ts"].timestamp()
        for r in rows(con, q["refused"])
    }
    c.same(
        "refused: first_ts",
        got_ts,
        want_ts,
        close=lambda g, w: g.keys() == w.keys()
        and all(abs(g[k] - w[k]) < 1e-6 for k in w),
    )

    # TTFB percentiles per host.
    ttfb = defaultdict(list)
    for r in recs.values():
        for x in r["http"]:
            if x.get("ttfb") is not None:
                ttfb[x.get("host")].append(x["ttfb"])
    want = sorted(
        (
            (h, len(v), ms(quantile_cont(v, 0.5)), ms(quantile_cont(v, 0.9)))
            for h, v in ttfb.items()
        ),
        key=lambda t: (-t[1], t[0] is None, t[0] or ""),
    )
    got = [tuple(r.values()) for r in rows(con, q["ttfb_per_host"])]
    c.same("ttfb_per_host", got, want, close=close_rows(0.0011))

    # DNS lookups per client and name.
    look = Counter()
    answered = Counter()
    for r in recs.values():
        for x in r["dns"]:
            k = (x["client"]["ip"], x.get("qname"))
            look[k] += 1
            answered[k] += x.get("response_ts") is not None
    want = sorted(
        ((k[0], k[1], v, answered[k]) for k, v in look.items()),
        key=lambda t: (-t[2], t[0], t[1] is None, t[1] or ""),
    )
    got = [tuple(r.values()) for r in rows(con, q["lookups_per_client"])]
    c.same("lookups_per_client", got, want)

    # dns -> conns -> http: the lookup DuckDB finds for a connection is the one
    # wiretale named it by (conns --json `name`: its qname and the lookup's rtt), and
    # the exchanges are the connection's (http --json).
    want = []
    for cap, r in sorted(recs.items()):
        named = {
            x["id"]: x["name"]
            for x in r["conns"]
            if x.get("name") and x["name"].get("source") == "dns"
        }
        for h in sorted(r["http"], key=lambda h: (h["conn"], h["seq"])):
            n = named.get(h["conn"])
            if n:
                want.append(
                    (cap, n["qname"], ms(n["dns_rtt"]), h["conn"], h.get("method"), h.get("uri"), h.get("status"))
                )
    got = [
        (r["capture"], r["qname"], r["dns_ms"], r["conn"], r["method"], r["uri"], r["status"])
        for r in rows(con, q["lookup_conn_fetch"])
    ]
    c.same("lookup_conn_fetch", got, want, close=close_rows(0.0011))

    if c.failures:
        print("\n".join(c.failures), file=sys.stderr)
        sys.exit(1)
    print(f"all checks passed on {len(recs)} captures")


def show(lake, markdown=False):
    """The answers as DuckDB prints them; with markdown, docs/lake.md's section: each
    question's comment as prose, its query, and DuckDB's answer."""
    con = connect(lake)
    for name, sql in questions().items():
        if not markdown:
            print(f"-- {name}")
            con.sql(sql).show(max_width=132, max_rows=16, max_col_width=30)
            continue
        lines = sql.splitlines()
        comments = [l[3:] for l in lines if l.startswith("-- ")]
        query = "\n".join(l for l in lines if not l.startswith("--"))
        print(f"### {comments[0]}\n")
        if comments[1:]:
            print("\n".join(comments[1:]) + "\n")
        print(f"```sql\n{query}\n```\n\n```text")
        sys.stdout.flush()
        con.sql(sql).show(max_width=132, max_rows=16, max_col_width=30)
        sys.stdout.flush()
        print("```\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] in ("--show", "--markdown"):
        show(sys.argv[1], markdown=sys.argv[2] == "--markdown")
    elif len(sys.argv) == 3:
        check(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)

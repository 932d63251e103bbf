#!/usr/bin/env python3
"""Checks with DuckDB that a lake written by N tasks `wiretale extract --split I/N` holds
the rows of the lake written by one task over the same captures.

Usage: split.py WHOLE SPLIT N [--names]   (run by tests/lake.rs with the venv's python)

Ids differ between the two lakes (task I numbers its kth connection k*N+I), so rows are
compared by what identifies them without ids: a connection by its Community ID and first
packet, and every row that names a connection by that connection's. With --names, only
the connections' names (`name_qname`, `name_source`) are compared. Exits 1 with the
differences when a check fails.
"""

import sys

import duckdb


def scan(lake, t):
    return f"read_parquet('{lake}/{t}/**/*.parquet', hive_partitioning = true, filename = true)"


# Each query gives the rows to compare, with {conns}, {http}, ... the table scans.
ROWS = {
    "conns": """SELECT capture, community_id, first_ts, last_ts, proto, client_ip, client_port,
                       server_ip, server_port, state, history, app, packets_client,
                       packets_server, bytes_client, bytes_server, close_how, handshake_rtt
                FROM {conns}""",
    "http": """SELECT h.capture, c.community_id, c.first_ts, h.seq, h.method, h.host, h.uri,
                      h.status, h.request_ts, h.ttfb, h.response_body_len
               FROM {http} h JOIN {conns} c ON c.capture = h.capture AND c.id = h.conn""",
    "dns": """SELECT d.capture, c.community_id, c.first_ts, d.qname, d.qtype, d.rcode,
                     d.query_ts, d.response_ts, d.rtt
              FROM {dns} d LEFT JOIN {conns} c ON c.capture = d.capture AND c.id = d.conn""",
    "tls": """SELECT t.capture, c.community_id, c.first_ts, t.community_id AS own_community_id
              FROM {tls} t JOIN {conns} c ON c.capture = t.capture AND c.id = t.conn""",
    "story (events of a connection)": """
              SELECT s.capture, c.community_id, c.first_ts, s.kind, s.ts
              FROM {story} s JOIN {conns} c ON c.capture = s.capture AND c.id = s.conn""",
}
NAMES = {
    "conns names": """SELECT capture, community_id, first_ts, name_qname, name_source
                      FROM {conns}""",
}
TABLES = ["conns", "dns", "http", "tls", "story"]


def compare(con, whole, split, queries):
    bad = []
    for what, q in queries.items():
        a = q.format(**{t: scan(whole, t) for t in TABLES})
        b = q.format(**{t: scan(split, t) for t in TABLES})
        n = con.execute(f"SELECT count(*) FROM ({a})").fetchall()[0][0]
        m = con.execute(f"SELECT count(*) FROM ({b})").fetchall()[0][0]
        only_a = con.execute(f"({a}) EXCEPT ALL ({b})").fetchall()
        only_b = con.execute(f"({b}) EXCEPT ALL ({a})").fetchall()
        ok = not only_a and not only_b and n > 0
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {n} rows whole, {m} split")
        if not ok:
            bad.append(
                f"{what}: {len(only_a)} rows only in the whole lake, {len(only_b)} only in the split one\n"
                f"  whole: {only_a[:5]!r}\n  split: {only_b[:5]!r}"
            )
    return bad


def main():
    whole, split, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    con = duckdb.connect()
    if "--names" in sys.argv[4:]:
        bad = compare(con, whole, split, NAMES)
    else:
        bad = compare(con, whole, split, ROWS)
        # Task I wrote part-I, and numbered its connections k*N+I: ids never collide.
        wrong = con.execute(
            f"""SELECT capture, id, filename FROM {scan(split, 'conns')}
                WHERE id % {n} <> CAST(regexp_extract(filename, 'part-([0-9]+)\\.parquet$', 1) AS INT)"""
        ).fetchall()
        dup = con.execute(
            f"SELECT capture, id FROM {scan(split, 'conns')} GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        parts = con.execute(f"SELECT count(*) FROM glob('{split}/conns/**/*.parquet')").fetchall()[0][0]
        captures = con.execute(
            f"SELECT count(DISTINCT capture) FROM {scan(whole, 'conns')}"
        ).fetchall()[0][0]
        print(f"{'ok  ' if not wrong and not dup else 'FAIL'} split ids: id % {n} is the part, unique per capture")
        print(f"{'ok  ' if parts == captures * n else 'FAIL'} split parts: {parts} conns parts, {captures} captures")
        if wrong or dup:
            bad.append(f"split ids: wrong part {wrong[:5]!r}, duplicated {dup[:5]!r}")
        if parts != captures * n:
            bad.append(f"split parts: {parts} conns parts for {captures} captures split {n} ways")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

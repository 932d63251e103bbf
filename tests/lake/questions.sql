-- The questions docs/lake.md asks of a lake, in DuckDB SQL, over the views that
-- tests/lake/check.py (and the docs) create: conns, dns, http, tls, story, each
-- `read_parquet('LAKE/<table>/**/*.parquet', hive_partitioning = true)`.
-- tests/lake.rs runs every one on the bundled and shared captures and checks its
-- answer against what the JSON commands say; docs/lake.md must quote each verbatim.
-- A question starts at its `-- name:` line and ends at the next one; its first
-- comment line is its title, the others say what it answers.

-- name: conns_per_name
-- Connections per server name
-- The name is the one wiretale gave the connection (`name_source`): the DNS lookup
-- that returned its address (`dns`), else the TLS SNI (`sni`) or the HTTP Host (`host`).
SELECT name_qname AS name, name_source AS source, count(*) AS conns,
       count(DISTINCT capture) AS captures
FROM conns
WHERE name_qname IS NOT NULL
GROUP BY name_qname, name_source
ORDER BY conns DESC, name, source;

-- name: refused
-- Refused connections
-- A SYN answered by a RST: Zeek's connection state `REJ`, as `conns` has it.
SELECT capture, id, client_ip, server_ip, server_port, first_ts
FROM conns
WHERE state = 'REJ'
ORDER BY capture, id;

-- name: ttfb_per_host
-- Time to first byte per HTTP host
-- Over every capture: the median and the 90th percentile, in milliseconds
-- (`quantile_cont` interpolates between the closest ranks).
SELECT host, count(*) AS exchanges,
       round(quantile_cont(ttfb, 0.5) * 1000, 3) AS p50_ms,
       round(quantile_cont(ttfb, 0.9) * 1000, 3) AS p90_ms
FROM http
WHERE ttfb IS NOT NULL
GROUP BY host
ORDER BY exchanges DESC, host;

-- name: lookups_per_client
-- DNS lookups per client and name
-- How often each client asked for each name, and how many of those were answered.
SELECT client_ip, qname, count(*) AS lookups, count(response_ts) AS answered
FROM dns
GROUP BY client_ip, qname
ORDER BY lookups DESC, client_ip, qname;

-- name: lookup_conn_fetch
-- Which lookup named which connection, and what it fetched
-- dns -> conns -> http: for a connection that wiretale named from DNS, the last
-- lookup of that name by the connection's client, answered before the connection
-- started, whose answers hold the server's address; then the connection's HTTP
-- exchanges.
WITH named AS (
  SELECT c.capture, c.id AS conn, d.qname, d.rtt AS dns_rtt, c.server_ip, c.first_ts,
         row_number() OVER (PARTITION BY c.capture, c.id
                            ORDER BY d.response_ts DESC) AS latest
  FROM conns c
  JOIN dns d
    ON c.name_source = 'dns' AND d.capture = c.capture AND d.client_ip = c.client_ip
   AND d.qname = c.name_qname AND d.response_ts <= c.first_ts
   AND list_contains(list_transform(d.answers, lambda a: a.data), c.server_ip)
)
SELECT n.capture, n.qname, round(n.dns_rtt * 1000, 3) AS dns_ms, n.conn, n.server_ip,
       h.method, h.uri, h.status
FROM named n
JOIN http h ON h.capture = n.capture AND h.conn = n.conn
WHERE n.latest = 1
ORDER BY n.capture, n.conn, h.seq;

#!/usr/bin/env python3
"""Times the built wiretale binary side by side with its peers on the same capture.

Each command runs RUNS times (after one warm-up that also fills the page cache); we print
the median wall time, throughput, peak RSS (from wait4's rusage) and the ratio to
wiretale, all measured in one invocation so the shared machine's noise hits every row
alike. Peers that are not installed are skipped with a note.

usage: benches/compare.py [-r RUNS] [--suite packets|conns|dns-http|filter|story|all] FILE...
env:   WIRETALE=path (default target/release/wiretale)
"""
import argparse, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SUITES = {
    # name: list of (label, argv template, needs)
    "packets": [
        ("cat", ["cat", "{F}"], "cat"),
        ("wiretale packets", ["{W}", "packets", "{F}"], None),
        ("tcpdump -nn -r", ["tcpdump", "-nn", "-r", "{F}"], "tcpdump"),
        ("tshark -r", ["tshark", "-n", "-r", "{F}"], "tshark"),
    ],
    "conns": [
        ("cat", ["cat", "{F}"], "cat"),
        ("wiretale conns", ["{W}", "conns", "{F}"], None),
        ("tshark -q -z conv,tcp", ["tshark", "-n", "-q", "-r", "{F}", "-z", "conv,tcp"], "tshark"),
    ],
    "dns-http": [
        ("cat", ["cat", "{F}"], "cat"),
        ("wiretale dns", ["{W}", "dns", "{F}"], None),
        ("wiretale http", ["{W}", "http", "{F}"], None),
        ("tshark -Y 'dns || http' -T fields", ["tshark", "-n", "-r", "{F}", "-Y", "dns || http", "-T", "fields",
          "-e", "frame.number", "-e", "dns.qry.name", "-e", "dns.a", "-e", "http.request.method",
          "-e", "http.request.uri", "-e", "http.response.code", "-e", "http.time"], "tshark"),
    ],
    # Display filters: the cost of -Y over plain `packets` (decode + field lookups on
    # every packet; application fields only because the filter names `http`).
    "filter": [
        ("wiretale packets", ["{W}", "packets", "{F}"], None),
        ("wiretale packets -Y 'tcp.port == 80 && http'", ["{W}", "packets", "{F}", "-Y", "tcp.port == 80 && http"], None),
        ("wiretale packets -Y 'ip.addr == 10.0.0.0/8'", ["{W}", "packets", "{F}", "-Y", "ip.addr == 10.0.0.0/8"], None),
        ("tshark -r -Y 'tcp.port == 80 && http'", ["tshark", "-n", "-r", "{F}", "-Y", "tcp.port == 80 && http"], "tshark"),
    ],
    "story": [
        ("cat", ["cat", "{F}"], "cat"),
        ("wiretale story", ["{W}", "story", "{F}"], None),
        ("tcpdump -nn -r", ["tcpdump", "-nn", "-r", "{F}"], "tcpdump"),
        ("tshark -q -z conv,tcp", ["tshark", "-n", "-q", "-r", "{F}", "-z", "conv,tcp"], "tshark"),
        ("tshark -Y 'dns || http' -T fields", ["tshark", "-n", "-r", "{F}", "-Y", "dns || http", "-T", "fields",
          "-e", "frame.number", "-e", "dns.qry.name", "-e", "dns.a", "-e", "http.request.method",
          "-e", "http.request.uri", "-e", "http.response.code", "-e", "http.time"], "tshark"),
    ],
}


def run_once(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, ru.ru_maxrss * 1024, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def packet_count(path):
    # Count records with wiretale itself if possible (cheap), else capinfos.
    try:
        out = subprocess.run(["capinfos", "-Mc", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "Number of packets" in line:
                return int(line.split(":")[-1].strip())
    except FileNotFoundError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-r", "--runs", type=int, default=3)
    ap.add_argument("--suite", default="packets", choices=list(SUITES) + ["all"])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    w = os.environ.get("WIRETALE", os.path.join(ROOT, "target/release/wiretale"))
    if not os.access(w, os.X_OK):
        sys.exit(f"compare.py: {w} is not built (cargo build --release)")
    suites = list(SUITES) if a.suite == "all" else [a.suite]
    for f in a.files:
        size = os.path.getsize(f)
        pkts = packet_count(f)
        print(f"\n## {os.path.basename(f)}: {size/1e6:.1f} MB, {pkts or '?'} packets, median of {a.runs} runs\n")
        for s in suites:
            print(f"### suite `{s}`\n")
            print("| command | median s | min–max s | MB/s | Mpkt/s | peak RSS MB | CPU s | × wiretale |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            rows = []
            for label, tmpl, needs in SUITES[s]:
                if needs and not shutil.which(needs):
                    rows.append((label, None, f"{needs} not installed"))
                    continue
                argv = [x.replace("{F}", f).replace("{W}", w) for x in tmpl]
                run_once(argv)  # warm-up, page cache
                res = [run_once(argv) for _ in range(a.runs)]
                bad = [r for r in res if r[3] not in (0,)]
                note = f"exit {bad[0][3]}" if bad else ""
                rows.append((label, res, note))
            ours = [statistics.median(r[0] for r in res) for lbl, res, _ in rows if res and lbl.startswith("wiretale")]
            base = ours[0] if ours else None
            for label, res, note in rows:
                if res is None:
                    print(f"| {label} | – | – | – | – | – | – | {note} |")
                    continue
                walls = [r[0] for r in res]
                med = statistics.median(walls)
                rss = max(r[1] for r in res) / 1e6
                cpu = statistics.median(r[2] for r in res)
                mbps = size / 1e6 / med if med else 0
                mpps = (pkts / 1e6 / med) if (pkts and med) else 0
                ratio = f"{med / base:.1f}×" if base else "–"
                print(f"| {label}{' ('+note+')' if note else ''} | {med:.3f} | {min(walls):.3f}–{max(walls):.3f} | "
                      f"{mbps:.0f} | {mpps:.2f} | {rss:.0f} | {cpu:.2f} | {ratio} |")
            print()


if __name__ == "__main__":
    main()

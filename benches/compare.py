#!/usr/bin/env python3
"""Times the built wiretale binary side by side with its peers on the same capture.

Each command runs RUNS times (after one warm-up that also fills the page cache); we print
the median wall time, throughput, peak RSS (from GNU time) and the ratio to
wiretale, all measured in one invocation so the shared machine's noise hits every row
alike. Peers that are not installed are skipped with a note.

usage: benches/compare.py [-r RUNS] [--suite packets|conns|dns-http|filter|story|scale|all] FILE...
env:   WIRETALE=path (default target/release/wiretale)
       BASE=path     another build (e.g. the previous release) timed as "before" rows
                     in the same run, so before/after are ratios of one invocation

The issue-18 table (every core, the C walk, the peers; `scale` suite):
    BASE=/tmp/wiretale-before benches/compare.py -r 3 --suite scale web.pcap manyflows.pcap

The issue-8 table (full pipeline vs peers, one run, both benchmark captures):
    benches/compare.py -r 3 --suite story /tmp/bench/web.pcap /tmp/bench/manyflows.pcap
Captures come from ../shared/bench/gen.sh. "time ÷ wiretale" > 1 means the peer was
slower; "RSS ÷ wiretale" > 1 means it held more memory.
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
    # Issue 18: the story and the connection table against the peers, the hand-written C
    # walk that decodes L2-L4 and hashes every flow (../shared/bench/pcapwalk.c, the
    # floor for "decode + flows"), one thread vs every core, and the previous build.
    "scale": [
        ("cat", ["cat", "{F}"], "cat"),
        ("wiretale story", ["{W}", "story", "{F}"], None),
        ("wiretale story, 1 thread", ["env", "WIRETALE_THREADS=1", "{W}", "story", "{F}"], None),
        ("wiretale conns", ["{W}", "conns", "{F}"], None),
        ("wiretale story (BASE)", ["{B}", "story", "{F}"], "{B}"),
        ("wiretale conns (BASE)", ["{B}", "conns", "{F}"], "{B}"),
        ("C walk: decode + flow table", ["{P}", "flows", "{F}"], "{P}"),
        ("tcpdump -nn -r", ["tcpdump", "-nn", "-r", "{F}"], "tcpdump"),
        ("tshark -q -z conv,tcp", ["tshark", "-n", "-q", "-r", "{F}", "-z", "conv,tcp"], "tshark"),
        ("tshark -Y 'dns || http' -T fields", ["tshark", "-n", "-r", "{F}", "-Y", "dns || http", "-T", "fields",
          "-e", "frame.number", "-e", "dns.qry.name", "-e", "dns.a", "-e", "http.request.method",
          "-e", "http.request.uri", "-e", "http.response.code", "-e", "http.time"], "tshark"),
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


def pcapwalk():
    """The C walk from ../shared/bench/pcapwalk.c, built into /tmp when missing (needs
    gcc and libpcap-dev); None when it cannot be built."""
    src = os.path.join(ROOT, "..", "shared", "bench", "pcapwalk.c")
    exe = "/tmp/pcapwalk"
    if os.access(exe, os.X_OK) and (not os.path.exists(src) or os.path.getmtime(exe) >= os.path.getmtime(src)):
        return exe
    if not os.path.exists(src) or not shutil.which("gcc"):
        return None
    ok = subprocess.run(["gcc", "-O2", "-o", exe, src, "-lpcap"]).returncode == 0
    return exe if ok else None


TIME = shutil.which("time") or ("/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None)


def run_once(argv):
    """Wall time, peak RSS in bytes, CPU seconds, exit code of one run.

    Peak RSS comes from GNU time, not from our own wait4: a child forked from this
    Python process starts with Python's resident set as its high-water mark, and that
    survives exec, so wait4 would report at least ~16 MB for `cat`."""
    if TIME:
        import tempfile
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            t0 = time.perf_counter()
            p = subprocess.run([TIME, "-f", "%M %U %S", "-o", tf.name] + argv,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            fields = (tf.read().strip().splitlines() or ["0 0 0"])[-1].split()
        try:
            kb, user, sys_ = int(fields[0]), float(fields[1]), float(fields[2])
        except (ValueError, IndexError):
            kb, user, sys_ = 0, 0.0, 0.0
        return wall, kb * 1024, user + sys_, p.returncode
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
    base = os.environ.get("BASE")
    walk = pcapwalk() if a.suite in ("scale", "all") else None
    subst = {"{W}": w, "{B}": base or "", "{P}": walk or ""}
    suites = list(SUITES) if a.suite == "all" else [a.suite]
    for f in a.files:
        size = os.path.getsize(f)
        pkts = packet_count(f)
        print(f"\n## {os.path.basename(f)}: {size/1e6:.1f} MB, {pkts or '?'} packets, median of {a.runs} runs\n")
        for s in suites:
            print(f"### suite `{s}`\n")
            print("| command | median s | min–max s | MB/s | Mpkt/s | peak RSS MB | CPU s | time ÷ wiretale | RSS ÷ wiretale |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            rows = []
            for label, tmpl, needs in SUITES[s]:
                if needs in subst:
                    if not subst[needs]:
                        continue  # no BASE given, or the C walk could not be built
                elif needs and not shutil.which(needs):
                    rows.append((label, None, f"{needs} not installed"))
                    continue
                argv = [subst.get(x, x).replace("{F}", f) for x in tmpl]
                run_once(argv)  # warm-up, page cache
                res = [run_once(argv) for _ in range(a.runs)]
                bad = [r for r in res if r[3] not in (0,)]
                note = f"exit {bad[0][3]}" if bad else ""
                rows.append((label, res, note))
            # The first wiretale row is the reference: a peer's ratio says how many times
            # longer it took (or how much more memory it held) than wiretale.
            ref = next(((statistics.median(r[0] for r in res), max(r[1] for r in res))
                        for lbl, res, _ in rows if res and lbl.startswith("wiretale")), None)
            for label, res, note in rows:
                if res is None:
                    print(f"| {label} | – | – | – | – | – | – | – | {note} |")
                    continue
                walls = [r[0] for r in res]
                med = statistics.median(walls)
                rss_b = max(r[1] for r in res)
                cpu = statistics.median(r[2] for r in res)
                mbps = size / 1e6 / med if med else 0
                mpps = (pkts / 1e6 / med) if (pkts and med) else 0
                t_ratio = f"{med / ref[0]:.1f}×" if ref and ref[0] else "–"
                m_ratio = f"{rss_b / ref[1]:.1f}×" if ref and ref[1] else "–"
                print(f"| {label}{' ('+note+')' if note else ''} | {med:.3f} | {min(walls):.3f}–{max(walls):.3f} | "
                      f"{mbps:.0f} | {mpps:.2f} | {rss_b/1e6:.0f} | {cpu:.2f} | {t_ratio} | {m_ratio} |")
            print()


if __name__ == "__main__":
    main()

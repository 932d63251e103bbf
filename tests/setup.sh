#!/usr/bin/env bash
# Installs what building and testing wiretale needs on a fresh Debian/Ubuntu machine:
# libpcap (the `pcap` crate links it), pkg-config, gcc and make (jemalloc, the binary's
# allocator, is built from C), and the real programs the lab tests
# drive (dnsmasq, nginx, curl, tmux, iproute2, ethtool; traceroute for the ICMP lab;
# tcpreplay for the live replay lab; openssl makes the HTTPS lab's CA; python3-venv
# and, from PyPI, aioquic for the HTTP/3 lab and DuckDB for the lake test, see below).
# Uses sudo when not root. Idempotent: installs only what is missing.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libpcap-dev pkg-config gcc make tmux iproute2 ethtool dnsmasq-base nginx curl openssl python3-venv traceroute tcpreplay; do
  have_pkg "$p" || need+=("$p")
done

if ((${#need[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${need[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust is missing; install it with https://rustup.rs (rustup), then run this again" >&2
    exit 1
  fi
fi

# The HTTP/3 lab (tests/lab/quic.sh): aioquic from PyPI in a venv, and its examples
# (http3_server.py, http3_client.py), which only its source archive ships.
AIOQUIC=1.7.2
LABDIR=${WIRETALE_LAB_DIR:-/opt/wiretale-lab}
SUDO=""
if [ "$(id -u)" != 0 ] && [ ! -w "$(dirname "$LABDIR")" ]; then SUDO="sudo"; fi
if [ ! -x "$LABDIR/venv/bin/python" ] || ! "$LABDIR/venv/bin/python" -c "import aioquic, wsproto; assert aioquic.__version__ == '$AIOQUIC'" 2>/dev/null; then
  echo "setup: installing aioquic $AIOQUIC in $LABDIR/venv" >&2
  $SUDO mkdir -p "$LABDIR"
  $SUDO /usr/bin/python3 -m venv "$LABDIR/venv"
  $SUDO "$LABDIR/venv/bin/pip" install -q "aioquic==$AIOQUIC" wsproto
fi
if [ ! -f "$LABDIR/aioquic-$AIOQUIC/examples/http3_server.py" ]; then
  tmp=$(mktemp -d)
  "$LABDIR/venv/bin/pip" download -q --no-deps --no-binary :all: -d "$tmp" "aioquic==$AIOQUIC"
  $SUDO tar -xzf "$tmp/aioquic-$AIOQUIC.tar.gz" -C "$LABDIR" "aioquic-$AIOQUIC/examples"
  rm -rf "$tmp"
fi

# The lake test (tests/lake.rs): DuckDB from PyPI, in a venv of its own, reads the
# Parquet tables `wiretale extract` writes.
DUCKDB=2.0.1
if [ ! -x "$LABDIR/duckdb-venv/bin/python" ] || ! "$LABDIR/duckdb-venv/bin/python" -c "import duckdb; assert duckdb.__version__ == '$DUCKDB'" 2>/dev/null; then
  echo "setup: installing duckdb $DUCKDB in $LABDIR/duckdb-venv" >&2
  $SUDO mkdir -p "$LABDIR"
  $SUDO /usr/bin/python3 -m venv "$LABDIR/duckdb-venv"
  $SUDO "$LABDIR/duckdb-venv/bin/pip" install -q "duckdb==$DUCKDB"
fi

#!/usr/bin/env bash
# Installs what building and testing wiretale needs on a fresh Debian/Ubuntu machine:
# libpcap (the `pcap` crate links it), pkg-config, and the real programs the lab tests
# drive (dnsmasq, nginx, curl, tmux, iproute2, ethtool; openssl makes the HTTPS lab's CA).
# Uses sudo when not root. Idempotent: installs only what is missing.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libpcap-dev pkg-config gcc tmux iproute2 ethtool dnsmasq-base nginx curl openssl; do
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

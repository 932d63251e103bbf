#!/usr/bin/env bash
# The whole test suite, as CI runs it: set up a fresh machine, then every test.
# Usage: tests/run.sh            (from the repository root or anywhere inside it)
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --cargo-profile test
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast
fi

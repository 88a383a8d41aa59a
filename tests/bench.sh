#!/usr/bin/env bash
# Benchmark (not a test): one month of N generated tickets run end to end with the release build.
# Records wall time, peak memory and tickets/s for gen-data and for the monthly run.
#   usage: tests/bench.sh [tickets-per-month, default 1000000] [partners, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}; partners=${2:-200}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ict-partners/target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/ict-partners"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  read -r secs kib <"$work/time"
  printf '%-10s wall %8.1f s   peak %7.0f MiB   %10.0f tickets/s\n' "$label" "$secs" "$((kib / 1024))" "$(echo "$n / $secs" | bc -l)"
}
measure gen-data "$bin" gen-data --out "$work/ops.sqlite" --partners "$partners" --tickets-per-month "$n" --months 2026-03..2026-03 --seed 1
export ICT_PARTNERS_SOURCE_URL="sqlite://$work/ops.sqlite" ICT_PARTNERS_STORE_URL="sqlite://$work/store.sqlite" ICT_PARTNERS_OUTPUT_DIR="$work/out"
measure monthly "$bin" run monthly --month 2026-03
echo "tickets: $n, partners: $partners, source $(du -h "$work/ops.sqlite" | cut -f1), store $(du -h "$work/store.sqlite" | cut -f1)"

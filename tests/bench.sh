#!/usr/bin/env bash
# Benchmark (not a test; nothing here asserts a time): for each size, gen-data writes one month of
# that many tickets (500 partners, 2026-10), then `run monthly` runs it end to end on a fresh store
# (extraction, rules, store, reports, outbox) with the release build. Records wall time, tickets/s
# and peak RSS of both, and how much the store grew; prints a Markdown table for the README.
#   usage: tests/bench.sh [SIZE ...]        default: 1000000 10000000
#   BENCH_DIR=/tmp/x keeps the generated databases there (reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ict-partners/target}"
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/ict-partners"
sizes=("$@")
((${#sizes[@]})) || sizes=(1000000 10000000)
work=${BENCH_DIR:-$(mktemp -d /tmp/ict-bench-XXXXXX)}
mkdir -p "$work"
rows=()

# measure LABEL CMD...: wall seconds and peak RSS (MiB) of one run, into $wall and $rss.
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/$label.log" 2>&1 || { tail -n 20 "$work/$label.log" >&2; exit 1; }
  read -r wall kib <"$work/time"
  rss=$((kib / 1024))
}

for n in "${sizes[@]}"; do
  db=$work/ops-$n.sqlite
  if [[ ! -f $db ]]; then
    measure "gen-$n" "$bin" gen-data --out "$db.part" --partners 500 --tickets-per-month "$n" \
      --months 2026-10..2026-10 --seed 1
    mv "$db.part" "$db"
    gen="$wall s, $(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.0f", n / w}') tickets/s, $rss MiB"
  else
    gen="(reused)"
  fi
  cat "$db" >/dev/null # warm page cache, like ../shared/perf/run.sh
  run=$work/run-$n
  rm -rf "$run"; mkdir -p "$run/out"
  ICT_PARTNERS_SOURCE_URL="sqlite://$db" ICT_PARTNERS_STORE_URL="sqlite://$run/store.sqlite" \
    ICT_PARTNERS_OUTPUT_DIR="$run/out" measure "monthly-$n" env -u ICT_PARTNERS_SMTP_URL \
    "$bin" run monthly --month 2026-10
  store_mb=$(du -cm "$run"/store.sqlite* | tail -n 1 | cut -f1)
  rate=$(awk -v n="$n" -v w="$wall" 'BEGIN {printf "%.0f", n / w}')
  rows+=("| $(printf "%'d" "$n") | $gen | $wall s | $rate | $rss MiB | $store_mb MB |")
  echo "N=$n: gen-data $gen; run monthly $wall s ($rate tickets/s, $rss MiB), store $store_mb MB" >&2
done

echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), warm page cache:"
echo
echo "| tickets in the month | gen-data | run monthly, end to end | tickets/s | peak RSS | store growth |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

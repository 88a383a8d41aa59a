#!/usr/bin/env bash
# Benchmark (not a test; nothing here asserts a time): for each size, gen-data writes one month of
# that many tickets (500 partners, 2026-10), then the month is taken through its whole life as a
# department would, one command at a time, on a fresh store with the release build:
#   run monthly -> approve (every unit) -> publish (every unit) -> explain (one partner)
#   -> settlement (run due after the dispute window; only the monthly job is scheduled)
# Records each step's wall time and peak RSS and how much the store grew; prints Markdown tables.
#   usage: tests/bench.sh [--source sqlite|postgres|mysql] [SIZE ...]   default: sqlite, 1000000 10000000
#   --source postgres|mysql copies the generated month into a database ict_bench_SIZE on the local
#     server (127.0.0.1, users postgres / root, as the test machines have them; once, then reused)
#     and reads it from there.
#   BENCH_DIR=/tmp/x keeps the generated databases there (reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ict-partners/target}"
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/ict-partners"
source=sqlite
if [[ ${1:-} == --source ]]; then source=$2; shift 2; fi
case $source in sqlite | postgres | mysql) ;; *) echo "--source sqlite|postgres|mysql" >&2; exit 64 ;; esac
sizes=("$@")
((${#sizes[@]})) || sizes=(1000000 10000000)
work=${BENCH_DIR:-$(mktemp -d /tmp/ict-bench-XXXXXX)}
mkdir -p "$work"
rows=()
life=()

# load_server DB N: the generated month in database ict_bench_N of the local server (once); sets $url.
load_server() {
  local db=$1 n=$2 name=ict_bench_$2 mark=$work/loaded-$source-$2 t
  local tables
  mapfile -t tables < <(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
  if [[ $source == postgres ]]; then
    url="postgres://postgres@127.0.0.1:5432/$name"
    [[ -f $mark ]] && return
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$name" -f sql/contract/postgres.sql
    for t in "${tables[@]}"; do
      sqlite3 -csv -cmd ".nullvalue '\N'" "$db" "SELECT * FROM $t" |
        psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$name" -c "\copy $t FROM STDIN WITH (FORMAT csv, NULL '\N')"
    done
    psql -q -h 127.0.0.1 -U postgres -d "$name" -c "VACUUM ANALYZE"
  else
    url="mysql://root@127.0.0.1:3306/$name"
    [[ -f $mark ]] && return
    mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $name; CREATE DATABASE $name CHARACTER SET utf8mb4"
    mariadb -h 127.0.0.1 -u root "$name" <sql/contract/mysql.sql
    for t in "${tables[@]}"; do
      sqlite3 -csv -cmd ".nullvalue '\N'" "$db" "SELECT * FROM $t" >"$work/$t.csv"
      mariadb --local-infile=1 -h 127.0.0.1 -u root "$name" -e \
        "LOAD DATA LOCAL INFILE '$work/$t.csv' INTO TABLE $t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n'"
      rm -f "$work/$t.csv"
    done
    mariadb -h 127.0.0.1 -u root "$name" -e "ANALYZE TABLE tickets, ticket_pauses" >/dev/null
  fi
  touch "$mark"
}

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
  url="sqlite://$db"
  [[ $source == sqlite ]] || load_server "$db" "$n"
  run=$work/run-$source-$n
  rm -rf "$run"; mkdir -p "$run/out" "$run/jobs"
  # Only the monthly job is scheduled and nothing before the month is due, so `run due` after the
  # dispute window does the settlement and nothing else.
  cp config/rules.toml config/calendar-cn.toml "$run/"
  for j in jobs/*.toml; do
    if [[ $j == jobs/monthly.toml ]]; then cp "$j" "$run/jobs/"; else sed 's/^enabled = true/enabled = false/' "$j" >"$run/$j"; fi
  done
  sed -e "s|^# first_period = .*|first_period = \"2026-10\"|" -e "s|^# jobs_dir = .*|jobs_dir = \"$run/jobs\"|" \
    config/ict-partners.toml >"$run/config.toml"
  export ICT_PARTNERS_SOURCE_URL=$url ICT_PARTNERS_STORE_URL="sqlite://$run/store.sqlite" ICT_PARTNERS_OUTPUT_DIR="$run/out"
  step() { # step LABEL NOW ARGS...: one command of the month's life, timed
    local label=$1 now=$2; shift 2
    ICT_PARTNERS_NOW=$now measure "$label-$n" env -u ICT_PARTNERS_SMTP_URL "$bin" --config "$run/config.toml" "$@"
    life+=("| $(printf "%'d" "$n") | $label | $wall s | $rss MiB |")
    echo "N=$n $source: $label $wall s, $rss MiB" >&2
  }
  step "run monthly" "2026-11-03 02:00:00" run monthly --month 2026-10
  monthly_wall=$wall monthly_rss=$rss
  store_mb=$(du -cm "$run"/store.sqlite* | tail -n 1 | cut -f1)
  step "approve" "2026-11-04 09:00:00" approve monthly --month 2026-10 --all-units --by 张经理
  step "publish" "2026-11-04 09:10:00" publish monthly --month 2026-10 --all-units --by 张经理
  partner=$(sqlite3 "$run/store.sqlite" "SELECT partner_id FROM monthly_partner_results WHERE status = 'assessed' LIMIT 1" 2>/dev/null || echo P001)
  step "explain" "2026-11-04 10:00:00" explain --month 2026-10 --partner "${partner:-P001}"
  step "settlement (run due)" "2026-11-20 02:00:00" run due
  [[ -s $run/out/monthly/2026-10/finance_settlement.csv ]] || { echo "no finance export after the settlement step" >&2; exit 1; }
  unset ICT_PARTNERS_SOURCE_URL ICT_PARTNERS_STORE_URL ICT_PARTNERS_OUTPUT_DIR
  rate=$(awk -v n="$n" -v w="$monthly_wall" 'BEGIN {printf "%.0f", n / w}')
  rows+=("| $(printf "%'d" "$n") | $gen | $monthly_wall s | $rate | $monthly_rss MiB | $store_mb MB |")
done

echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), warm page cache:"
echo
echo "Source: $source."
echo
echo "| tickets in the month | gen-data | run monthly, end to end | tickets/s | peak RSS | store growth |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "The month's life, one command at a time:"
echo
echo "| tickets in the month | step | wall | peak RSS |"
echo "|---|---|---|---|"
printf '%s\n' "${life[@]}"

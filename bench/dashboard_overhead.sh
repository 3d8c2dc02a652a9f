#!/usr/bin/env bash
# Benchmark: how much does the live dashboard slow training against --headless on the same config?
# Runs the two modes alternately (A B A B A B, so machine noise hits both), the dashboard inside a
# tmux pane where a watcher confirms the ticket (Enter, y) and quits when finished. The measure is
# the training time the engine itself records (sum of the `seconds` column of metrics.csv: every
# epoch's training + evaluation), so time spent waiting for the user is not counted.
# Usage: bench/dashboard_overhead.sh [runs=3] [extra --set args...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}; shift || true
cargo build --release --quiet
bin=$PWD/target/release/ebt-tui
args=(--set train.epochs=8 --set retrain.random_control=false "$@")
tmp=$(mktemp -d)
trap 'tmux -L ebt-bench kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT

train_seconds() { awk -F, 'NR>1 {s+=$7} END {printf "%.3f", s}' "$1/metrics.csv"; }

headless() {
  "$bin" --headless --out "$1" "${args[@]}" >/dev/null 2>&1
}

dashboard() {
  local out=$1
  tmux -L ebt-bench -f /dev/null new-session -d -s b -x 120 -y 40 "$bin --out $out ${args[*]}; tmux -L ebt-bench wait-for -S done"
  local confirmed=0
  while tmux -L ebt-bench has-session -t b 2>/dev/null; do
    local screen
    screen=$(tmux -L ebt-bench capture-pane -t b -p 2>/dev/null || true)
    if [[ $confirmed == 0 && $screen == *"ticket offered"* ]]; then
      tmux -L ebt-bench send-keys -t b Enter; sleep 0.3; tmux -L ebt-bench send-keys -t b y; confirmed=1
    fi
    if [[ $screen == *"finished"* ]]; then
      tmux -L ebt-bench send-keys -t b q; sleep 1
    fi
    sleep 0.5
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

: >"$tmp/h"; : >"$tmp/d"
for i in $(seq 1 "$runs"); do
  headless "$tmp/h$i"; train_seconds "$tmp/h$i" >>"$tmp/h"; echo >>"$tmp/h"
  dashboard "$tmp/d$i"; train_seconds "$tmp/d$i" >>"$tmp/d"; echo >>"$tmp/d"
  echo "run $i: headless $(tail -1 "$tmp/h") s, dashboard $(tail -1 "$tmp/d") s"
done
h=$(median <"$tmp/h"); d=$(median <"$tmp/d")
awk -v h="$h" -v d="$d" 'BEGIN {printf "median training seconds: headless %.2f, dashboard %.2f, dashboard/headless = %.3f (%+.1f%%)\n", h, d, d/h, (d/h-1)*100}'

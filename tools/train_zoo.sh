#!/usr/bin/env bash
# Train the whole style zoo in the background (nohup), resumable: re-run the same command to continue.
#   tools/train_zoo.sh STYLES_DIR CROPS.npy [more tools.train_zoo options, e.g. --only wave udnie]
# On a GPU machine run it in the foreground instead, all models at once:
#   python -m tools.train_zoo --styles STYLES_DIR --data CROPS.npy --device cuda --parallel 16
# Log: runs/zoo/zoo.log (each model also logs to runs/zoo/NAME/train.out and log.jsonl).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 STYLES_DIR CROPS.npy [options]" >&2; exit 2; }
cd "$(dirname "$0")/.."
mkdir -p runs/zoo
nohup python -m tools.train_zoo --styles "$1" --data "$2" "${@:3}" >> runs/zoo/zoo.log 2>&1 &
echo "zoo training in the background: pid $!, log runs/zoo/zoo.log"

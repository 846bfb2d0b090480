#!/usr/bin/env bash
# README's Quick start render timed with the shipped quality tier and, side by side in the same run,
# with the model it replaced (OLD: path to the old starry_night.onnx): new, old, new.
# Usage: benchmarks/quick_start.sh OLD_MODEL [THREADS]
set -euo pipefail
old=$1
threads=${2:-2}
out=$(mktemp -d)
for style in starry_night "$old" starry_night; do
    start=$(date +%s.%N)
    rtstyle render examples/pedestrians.mp4 "$out/clip.mp4" --style "$style" --threads "$threads" --overwrite 2>/dev/null
    echo "$(basename "$style") $(echo "$(date +%s.%N) - $start" | bc) s"
done
rm -r "$out"

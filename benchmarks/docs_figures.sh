#!/usr/bin/env bash
# The figures of docs/temporal.md and docs/soak_and_fuzzing.md, measured by their scripts and
# put into the docs' <!-- begin NAME --> blocks; each script's raw output is committed beside
# the doc (docs/temporal/, docs/soak/). Everything comes from the repository (no ../shared):
#   bash benchmarks/docs_figures.sh            # about 20 minutes on 2 cores
#   SOAK_MINUTES=10 RENDER_FRAMES=10000 bash benchmarks/docs_figures.sh   # the full soak
# FLICKER_CLIPS adds clips with camera motion and animation to the flicker table (docs/temporal.md,
# Reproduce, says where the committed run's clips come from).
set -euo pipefail
cd "$(dirname "$0")/.."
clip=examples/pedestrians.mp4
mkdir -p docs/temporal docs/soak
echo "start: $(uptime)" > docs/temporal/load.txt

# Flicker, fidelity and smoothing cost of every mode (docs/temporal.md, Results).
clips=()
for c in ${FLICKER_CLIPS:-$clip}; do clips+=(--clip "$c"); done
python -m benchmarks.flicker_table "${clips[@]}" --frames 120 --style multistyle26:19 --style multistyle26:13 \
    --latency-model models/candy_fast.onnx --raw docs/temporal/flicker_table.txt --doc docs/temporal.md

# The `rtstyle flicker` example of docs/temporal.md: per-frame and smoothed renders of the clip.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m rtstyle render "$clip" "$tmp/none.mp4" --style multistyle26:19 --smooth none 2>/dev/null
python -m rtstyle render "$clip" "$tmp/flow.mp4" --style multistyle26:19 2>/dev/null
{
    echo "\$ rtstyle flicker none.mp4 --reference $clip"
    python -m rtstyle flicker "$tmp/none.mp4" --reference "$clip"
    echo "\$ rtstyle flicker flow.mp4 --reference $clip --per-frame none.mp4"
    python -m rtstyle flicker "$tmp/flow.mp4" --reference "$clip" --per-frame "$tmp/none.mp4"
} | tee docs/temporal/flicker_cli.txt
python - <<'PY'
from pathlib import Path
from benchmarks.common import splice
raw = Path("docs/temporal/flicker_cli.txt")
splice(Path("docs/temporal.md"), "flicker_cli", "```\n" + raw.read_text() + "```", raw)
PY
echo "end: $(uptime)" >> docs/temporal/load.txt

# Byte flips through `rtstyle render`, and the soak (docs/soak_and_fuzzing.md).
echo "start: $(uptime)" > docs/soak/load.txt
python -m benchmarks.mutation --json docs/soak/mutation.json --doc docs/soak_and_fuzzing.md
python -m benchmarks.soak --render-frames "${RENDER_FRAMES:-3000}" --live-minutes "${SOAK_MINUTES:-3}" \
    --json docs/soak/soak.json --doc docs/soak_and_fuzzing.md
echo "end: $(uptime)" >> docs/soak/load.txt

#!/usr/bin/env bash
# Issue #6's closing figures from one run on an idle machine: the bench table of every model
# at 320x180 and 640x360 on this CPU, the baseline ratios, and the fast path end to end.
#   bash benchmarks/run_all.sh [OUT_DIR]        (needs the train extra for torch)
# OV_PYTHON=path/to/python (an environment whose onnxruntime is onnxruntime-openvino, see
# docs/performance.md) adds the OpenVINO provider's rows, fp32 and bf16, to the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/cpu_report-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
# Other processes skew every figure: the load average before and after goes with the results.
echo "start: $(uptime)" > "$out/load.txt"
threads=$(python -c "import os; print(len(os.sched_getaffinity(0)))")
python -m rtstyle bench --all --provider cpu --size 320x180,640x360 --threads "$threads" --frames 20 \
    --json "$out/bench.json" --plot "$out/bench.png" | tee "$out/bench.txt"
python -m benchmarks.baselines --threads "$threads" --json "$out/baselines.json" | tee "$out/baselines.txt"
python -m benchmarks.fast_path --threads "$threads" --json "$out/fast_path.json" 2>&1 \
    | grep -v '^WARNING' | tee "$out/fast_path.txt"
if [ -n "${OV_PYTHON:-}" ]; then
    "$OV_PYTHON" -m rtstyle bench --all --provider openvino --precision fp32 --precision bf16 --size 320x180,640x360 \
        --threads "$threads" --frames 20 --json "$out/bench_openvino.json" | tee "$out/bench_openvino.txt"
    "$OV_PYTHON" -m benchmarks.baselines --threads "$threads" --json "$out/baselines_openvino.json" \
        | tee "$out/baselines_openvino.txt"
fi
echo "end: $(uptime)" >> "$out/load.txt"
cat "$out/load.txt"
echo "results in $out"

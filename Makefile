# journeyflow — every target creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/demo
DATA   ?= data/demo
CUSTOMERS ?= 2000
DAYS   ?= 30
export GX_ANALYTICS_ENABLED := False

.PHONY: bytecode demo demo-check test test-fast bench bench-scale fuzz stream validate report compare clean install

include deploy/dataflow/template.mk

$(STAMP): pyproject.toml setup.py journeyflow/compiled_modules.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip uv
	@echo "installing journeyflow and its dependencies"
	JOURNEYFLOW_PURE_PYTHON=1 $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	@echo "compiling the core with Cython, in place (journeyflow/compiled_modules.txt: 2-5 min on 2 cores)"
	@$(PY) setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "the compiled core could not be built: the source runs (journeyflow/compiled.py)"
	touch $(STAMP)

# Bytecode of the project's own modules (the installed packages' is written at install: --compile-bytecode).
# Python only reads .pyc files when PYTHONDONTWRITEBYTECODE is set (as on CI machines); without them every
# process recompiles Beam & co. from source (~10 s instead of ~3.5 s per start measured on the 2-core VM).
# The compiled core (journeyflow/compiled.py) is rebuilt in place when a listed module's source changed since the
# install (an up-to-date build is a no-op; a stale extension would only be skipped for its slower source).  The
# install itself builds it once, in place, the same way: the editable install's own build (an isolated build
# directory) compiled all 40 modules and the first `make demo` on a fresh clone compiled them all again here.
bytecode: $(STAMP)
	@echo "compiled core: rebuilding edited modules (journeyflow/compiled.py; ~10 s a module, none when nothing changed)"
	@$(PY) setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "the compiled core could not be rebuilt: the source runs (journeyflow/compiled.py)"
	@$(PY) -m compileall -q -j 0 journeyflow pipelines transforms >/dev/null

install: $(STAMP)

## demo: generate a sample population, replay it through the pipeline (DirectRunner), summarize
demo: $(STAMP) bytecode
	$(VENV)/bin/journeyflow generate --customers $(CUSTOMERS) --days $(DAYS) --seed 7 --out $(DATA)
	$(VENV)/bin/journeyflow replay --input $(DATA) --output $(OUT) --overwrite
	$(VENV)/bin/journeyflow score-identity --input $(DATA) --output $(OUT)
	$(VENV)/bin/journeyflow validate $(OUT) --failures_only
	$(VENV)/bin/journeyflow report $(OUT)
	$(VENV)/bin/journeyflow journeys render --out $(OUT)/journeys.html

## demo-check: make demo, then compare its outputs with the digest recorded before the last refactor
demo-check: demo
	$(PY) tests/golden/digest.py check $(OUT) $(DATA) tests/golden/demo.json

## stream: Pub/Sub emulator + topics + streaming pipeline + a generated load + an example consumer
stream: $(STAMP) bytecode
	$(PY) -m journeyflow.tools.stream_demo

## compare: the same events through a per-channel automation baseline and through journeyflow
compare: $(STAMP)
	$(VENV)/bin/journeyflow compare --input $(DATA) --json $(OUT)/compare.json

## validate / report: data-quality checks and the HTML report on an existing output
validate: $(STAMP)
	$(VENV)/bin/journeyflow validate $(OUT)

report: $(STAMP)
	$(VENV)/bin/journeyflow report $(OUT)

## test: the full test suite (starts the Pub/Sub and Bigtable emulators itself). Four workers on two cores: the
## nine emulator end-to-end tests (45-75 s each) mostly wait on real time (ack deadlines, drains: ~10 % CPU), so
## two more workers fill those waits with the CPU-bound tests
test: $(STAMP) bytecode
	$(PY) -m pytest -n 4 --dist loadfile -q --durations=25

test-fast: $(STAMP) bytecode
	$(PY) -m pytest -q -m "not emulator and not slow"

clean:
	rm -rf $(VENV) out data .journeyflow .pytest_cache

## bench: benchmarks (figures and ratios, written to bench/results/bench.json)
bench: $(STAMP) bytecode
	$(PY) -m journeyflow.tools.bench $(BENCH_ARGS)

## bench-scale: peak memory of the replay at 10,000 and 100,000 customers x 30 days (long: ~4.9M records)
bench-scale: $(STAMP) bytecode
	$(PY) -m journeyflow.tools.bench_scale $(BENCH_SCALE_ARGS)

## fuzz: the input fuzz tests with 50000 parser examples (JOURNEYFLOW_FUZZ_EXAMPLES=N make fuzz for another number)
fuzz: $(STAMP)
	JOURNEYFLOW_FUZZ_EXAMPLES=$${JOURNEYFLOW_FUZZ_EXAMPLES:-50000} $(PY) -m pytest tests/guarantees/test_fuzz_inputs.py -q

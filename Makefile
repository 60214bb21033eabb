# stackflow's two commands (`make demo`, `make test`) and the pieces they are made of.
# Every target installs what it needs into .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SANDBOX := .sandbox

.PHONY: install demo demo-down test sandbox sandbox-down bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## the main job: the example repo deployed through the real flow, real terraform, local Prefect
demo: install
	bash scripts/demo.sh

demo-down: install
	bash scripts/demo.sh down

## the whole test suite, in parallel
test: install
	bash scripts/test.sh

## the offline AWS test bed (moto + terraform 1.0.3 + aws provider 3.39.0); writes .sandbox/env
sandbox: install
	$(BIN)/python -m testbed up --dir $(SANDBOX)

sandbox-down: install
	$(BIN)/python -m testbed down --dir $(SANDBOX)

bench: install
	bash scripts/bench.sh

clean: sandbox-down
	rm -rf $(VENV) .demo build *.egg-info

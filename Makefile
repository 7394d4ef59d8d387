# Hearth: `make up` starts the whole stack, `make test` runs the whole suite.
VENV := .venv
PY := $(VENV)/bin/python
BENCH ?=

.PHONY: up test bench lint fmt status venv clean shape

venv:
	@scripts/bootstrap.sh

up: venv
	@env -u AWS_CA_BUNDLE $(PY) -m web.stack.up

status: venv
	@$(PY) manage.py status

test: venv
	@$(PY) scripts/imports.py --check
	@scripts/ensure-chromium.sh
	@scripts/ensure-node.sh
	@env -u AWS_CA_BUNDLE $(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	@env -u AWS_CA_BUNDLE $(PY) -m bench $(BENCH)

lint: venv
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(PY) scripts/imports.py --check

fmt: venv
	@$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

shape: venv
	@$(PY) scripts/imports.py

clean:
	rm -rf $(VENV) var

# Two commands matter: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench lock clean sample

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## demo: install, then run the main job on sample_data/ against the sandbox tenant
DEMO_STATE := $(CURDIR)/.demo-state
HRC := HRC_STATE_DIR=$(DEMO_STATE) $(BIN)/hr-connector
demo: $(STAMP)
	@echo "== 1. validate the HR export against what mappings/default.yaml needs =="
	$(HRC) validate sample_data/employees.csv
	@echo
	@echo "== 2. preview: the Entra user each record becomes (first 8) =="
	$(HRC) preview sample_data/employees.csv --mapping mappings/default.yaml --limit 8
	@echo
	@echo "== 3. a fresh sandbox tenant (state in .demo-state/) =="
	$(HRC) sandbox reset
	@echo
	@echo "== 4. dry run: every change it would make, nothing written =="
	$(HRC) sync sample_data/employees.csv --mapping mappings/default.yaml --dry-run \
		--report $(DEMO_STATE)/dry-run.html --report $(DEMO_STATE)/dry-run.json --show 12
	@echo
	@echo "== 5. the sync itself =="
	$(HRC) sync sample_data/employees.csv --mapping mappings/default.yaml \
		--report $(DEMO_STATE)/sync.html --report $(DEMO_STATE)/sync.json --show 0
	@echo
	@echo "== 6. again, on the same export: nothing to change =="
	$(HRC) sync sample_data/employees.csv --mapping mappings/default.yaml --show 0
	@echo
	@echo "== 7. the department and country groups it created and filled =="
	$(HRC) sandbox groups
	@echo
	@echo "== 8. a month later: a mover changes department and country, a leaver leaves =="
	$(BIN)/python sample_data/month_later.py $(DEMO_STATE)/month-later.csv
	$(HRC) sync $(DEMO_STATE)/month-later.csv --mapping mappings/default.yaml --show 20 \
		--report $(DEMO_STATE)/month-later.html
	@echo
	$(HRC) runs --limit 4
	@echo
	@echo "== 9. the same export through Entra's API-driven inbound provisioning: SCIM =="
	@echo "==    bulkUpload to the sandbox's provisioning job, outcomes from its logs  =="
	$(HRC) sandbox reset
	$(HRC) sandbox job
	$(HRC) sync sample_data/employees.csv --mapping mappings/default-scim.yaml --dry-run \
		--payloads $(DEMO_STATE)/payloads --show 4
	$(HRC) sync sample_data/employees.csv --mapping mappings/default-scim.yaml \
		--report $(DEMO_STATE)/scim.html --show 4
	$(HRC) sync sample_data/employees.csv --mapping mappings/default-scim.yaml --show 0
	@echo "Open $(DEMO_STATE)/sync.html (or dry-run.html, month-later.html, scim.html) in a browser"
	@echo "for the full diff; $(DEMO_STATE)/payloads/ holds the SCIM requests exactly as posted."

## test: lint, type-check and run the whole suite in the same venv
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench sample_data
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: speed figures (readers, mapping; sync and Graph writes are bench/sync.py and
## bench/graph_writes.py); the bench extra adds pandas, a contender of bench/readers.py
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/readers.py
	$(BIN)/python bench/mapping.py

## sample: regenerate sample_data/ from its script
sample: $(STAMP)
	$(BIN)/python sample_data/generate.py

## lock: re-pin dependency versions after changing pyproject.toml
lock:
	rm -rf /tmp/hrc-lock && $(PYTHON) -m venv /tmp/hrc-lock
	/tmp/hrc-lock/bin/pip install --quiet -e '.[dev,bench]'
	/tmp/hrc-lock/bin/pip freeze --exclude-editable | grep -vi '^hr-connector' > constraints.txt
	rm -rf /tmp/hrc-lock

clean:
	rm -rf $(VENV) .demo-state .pytest_cache .mypy_cache .ruff_cache .hypothesis

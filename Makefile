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

## demo: install, then run the main job on sample_data/ (today: validate, then preview)
demo: $(STAMP)
	@echo "== 1. validate the HR export against what mappings/default.yaml needs =="
	$(BIN)/hr-connector validate sample_data/employees.csv
	@echo
	@echo "== 2. the same data from the Excel workbook, as the connector reads it (first 5 records) =="
	$(BIN)/hr-connector read sample_data/employees.xlsx --limit 5 \
		--column EmployeeID --column FirstName --column LastName --column JobTitle \
		--column ManagerID --column HireDate --column Status
	@echo
	@echo "== 3. the mapping, compiled and checked =="
	$(BIN)/hr-connector mapping check mappings/default.yaml
	@echo
	@echo "== 4. one expression, tested offline =="
	$(BIN)/hr-connector expr 'ToLower(NormalizeDiacritics(Join(".", [FirstName], [LastName])))' \
		--set FirstName=Łukasz --set LastName=Wójcik
	@echo
	@echo "== 5. preview: the Entra user each record becomes (first 12 of them) =="
	$(BIN)/hr-connector preview sample_data/employees.csv --mapping mappings/default.yaml --limit 12
	@echo
	@echo "== 6. one record in detail (Zoë O'Brien, row 6) =="
	$(BIN)/hr-connector preview sample_data/employees.xlsx --row 6

## test: lint, type-check and run the whole suite in the same venv
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench sample_data
	$(BIN)/mypy

## bench: speed figures (readers; more as the product grows)
bench: $(STAMP)
	$(BIN)/python bench/readers.py
	$(BIN)/python bench/mapping.py

## sample: regenerate sample_data/ from its script
sample: $(STAMP)
	$(BIN)/python sample_data/generate.py

## lock: re-pin dependency versions after changing pyproject.toml
lock:
	rm -rf /tmp/hrc-lock && $(PYTHON) -m venv /tmp/hrc-lock
	/tmp/hrc-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/hrc-lock/bin/pip freeze --exclude-editable | grep -vi '^hr-connector' > constraints.txt
	rm -rf /tmp/hrc-lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

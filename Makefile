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

## demo: install, then run the main job on sample_data/ (today: validate and read)
demo: $(STAMP)
	@echo "== 1. validate the HR export =="
	-$(BIN)/hr-connector validate sample_data/employees.csv
	@echo
	@echo "== 2. the same data from the Excel workbook, as the connector reads it (first 10 records) =="
	$(BIN)/hr-connector read sample_data/employees.xlsx --limit 10 \
		--column EmployeeID --column FirstName --column LastName --column JobTitle \
		--column ManagerID --column CountryCode --column HireDate --column Status

## test: lint, type-check and run the whole suite in the same venv
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench sample_data
	$(BIN)/mypy

## bench: speed figures (readers; more as the product grows)
bench: $(STAMP)
	$(BIN)/python bench/readers.py

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

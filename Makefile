# make run   : start the server on the embedded SQLite store at http://127.0.0.1:8080/fhir
# make test  : install everything and run the whole suite (pytest, ruff, mypy)
# make scheme: load the worked scheme (examples/scheme) into the embedded SQLite store
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
R4PKG  := .cache/hl7.fhir.r4.examples/package/Bundle-searchParams.json

.PHONY: run scheme test lint typecheck pytest definitions terminology ig bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(BIN)/fhir-server serve

scheme: $(STAMP)
	mkdir -p data
	$(BIN)/fhir-server load examples/scheme

# The official R4 examples (npm hl7.fhir.r4.examples@4.0.1, CC0) for the conformance tests.
$(R4PKG):
	mkdir -p .cache/hl7.fhir.r4.examples
	cd .cache/hl7.fhir.r4.examples && npm pack hl7.fhir.r4.examples@4.0.1 --silent >/dev/null && tar xzf hl7.fhir.r4.examples-4.0.1.tgz

lint: $(STAMP)
	$(BIN)/ruff check fhir_server tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(R4PKG)
	$(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck pytest

definitions: $(R4PKG)
	$(BIN)/python scripts/build_definitions.py .cache/hl7.fhir.r4.examples/package

# CodeSystems (concept hierarchies) and ValueSets (compose, expansions) for terminology/ and :in/:below
terminology: $(R4PKG)
	$(BIN)/python scripts/build_terminology.py .cache/hl7.fhir.r4.examples/package

# our implementation guide as a FHIR package: dist/openimis.fhir.insurance-<version>.tgz
ig: $(STAMP)
	$(BIN)/python scripts/build_ig.py

bench: $(STAMP)
	$(BIN)/python bench/crud.py
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache dist

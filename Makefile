# memlane developer commands. `make run` and `make test` set everything up from nothing:
# a virtualenv with the project and its extras, and the Kafka jars fetched once through Maven.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memlane-installed
KAFKA_JARS := infra/kafka/lib/.fetched
PYTEST_ARGS ?=

.PHONY: setup run test test-unit test-integration check format bench clean kafka-jars broker-start broker-stop infra

setup: $(STAMP) $(KAFKA_JARS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

kafka-jars: $(KAFKA_JARS)

$(KAFKA_JARS): infra/kafka/pom.xml
	mvn -q -B -f infra/kafka/pom.xml package
	touch $(KAFKA_JARS)

## Run the pipeline on its embedded defaults (local broker, LoCoMo conversation) and print the counts.
run: setup
	$(BIN)/memlane run

## Unit and integration tests; starts and stops its own Kafka broker.
test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

## ruff format check, ruff lint, mypy (strict), the floor order of imports (import-linter, pyproject.toml).
check: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy streams processors sinks schemas
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Every benchmark; tables on stdout, JSON in bench-results/ (LoCoMo and logs from $$MEMLANE_DATA_DIR or ../shared/data).
DATA ?= ../shared/data
bench: setup
	$(BIN)/memlane bench publish
	$(BIN)/memlane bench processors
	$(BIN)/memlane bench locomo-filter --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench extract
	$(BIN)/memlane bench storage
	$(BIN)/memlane bench search
	$(BIN)/memlane bench retrieval --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench offload --data $(DATA)

## Regenerate the ops files (infra/prometheus, infra/grafana, infra/k8s) from the catalogue and settings.
infra: setup
	$(BIN)/python -m streams.deploy

broker-start: setup
	$(BIN)/memlane broker start

broker-stop: setup
	$(BIN)/memlane broker stop

clean:
	rm -rf $(VENV) infra/kafka/lib infra/kafka/target .memlane bench-results .pytest_cache .mypy_cache .ruff_cache

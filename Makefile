# memlane developer commands. `make run` and `make test` set everything up from nothing:
# a virtualenv with the project and its extras, and the Kafka jars fetched once through Maven.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memlane-installed
KAFKA_JARS := infra/kafka/lib/.fetched
REGISTRY_APP := infra/apicurio/app/.fetched
PYTEST_ARGS ?=

.PHONY: setup run test test-unit test-integration check format bench clean kafka-jars broker-start broker-stop \
	registry-app registry-start registry-stop fuzz

setup: $(STAMP) $(KAFKA_JARS) $(REGISTRY_APP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

kafka-jars: $(KAFKA_JARS)

$(KAFKA_JARS): infra/kafka/pom.xml
	mvn -q -B -f infra/kafka/pom.xml package
	touch $(KAFKA_JARS)

## The schema registry (Apicurio, Confluent-compatible API), unpacked once from Maven Central into infra/apicurio/app.
registry-app: $(REGISTRY_APP)

$(REGISTRY_APP): infra/apicurio/pom.xml
	mvn -q -B -f infra/apicurio/pom.xml package
	touch $(REGISTRY_APP)

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

broker-start: setup
	$(BIN)/memlane broker start

broker-stop: setup
	$(BIN)/memlane broker stop

registry-start: setup
	$(BIN)/memlane registry start

registry-stop: setup
	$(BIN)/memlane registry stop

## The long fuzz run (hypothesis profile `long`: 10,000 cases per codec property, 150,000 in all); CI runs 60 each.
fuzz: setup
	HYPOTHESIS_PROFILE=long $(BIN)/pytest tests/fuzz -p no:cacheprovider -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) infra/kafka/lib infra/kafka/target infra/apicurio/app .memlane bench-results .pytest_cache .mypy_cache .ruff_cache

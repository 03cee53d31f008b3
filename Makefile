# The two commands a newcomer needs (see README):
#   make run   - set up, ingest corpus/ and open the chat app on http://127.0.0.1:8501
#   make test  - set up and run the whole test suite (what CI runs)

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8501

.PHONY: venv run test lint fmt browser eval bench clean

venv: $(STAMP)

# torch first and pinned: it is a CPU wheel on local disk; an unpinned torch pulls a
# multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's Chromium for the real-browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: venv
	$(BIN)/monorag ingest corpus
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: venv browser lint
	$(BIN)/pytest

eval: venv
	$(BIN)/monorag eval --mode both

bench: venv
	$(BIN)/monorag bench

clean:
	rm -rf data build *.egg-info .pytest_cache

# Dali Studio — the README's commands. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUM    := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-app-$(SUM)
DEV    := $(VENV)/.installed-dev-$(SUM)
BENCH  := $(VENV)/.installed-bench-$(SUM)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run studio test install install-dev browsers bench lint format vendor clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# `make run` needs only the app's own dependencies.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-app-* && touch $(STAMP)

# Tests, benchmarks and lint add the dev tools and the art lab's PyTorch. The pinned torch goes in first: it
# resolves to a local CPU build, where an unpinned or newer torch pulls several GB of CUDA packages.
$(DEV): $(STAMP)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	rm -f $(VENV)/.installed-dev-* && touch $(DEV)

# The benchmarks add their baselines (django-import-export for bench/csv_import.py).
$(BENCH): $(DEV)
	$(PY) -m pip install --quiet -e ".[dev,lab,bench]"
	rm -f $(VENV)/.installed-bench-* && touch $(BENCH)

install: $(STAMP)

install-dev: $(DEV)

# The whole app on SQLite with the local painter: web server and task worker, stopped together by Ctrl-C.
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py studio seed-demo --host $(HOST) --port $(PORT)
	@echo "Dali Studio: http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"
	@DEBUG=1 PYTHONUNBUFFERED=1 bash -c 'trap "trap - INT TERM EXIT; kill 0" INT TERM EXIT; \
		$(PY) manage.py db_worker --interval 0.5 & \
		$(PY) manage.py runserver $(HOST):$(PORT) & \
		wait'

# The studio CLI against the `make run` setup (SQLite, development settings): make studio ARGS="list-characters"
studio: install
	@DEBUG=1 $(PY) manage.py studio $(ARGS)

# A browser for the Playwright suite: Debian's chromium when present, else Playwright's own build.
browsers: install-dev
	@if [ -x /usr/bin/chromium ] || [ -n "$$PLAYWRIGHT_CHROMIUM" ]; then echo "browser: using $${PLAYWRIGHT_CHROMIUM:-/usr/bin/chromium}"; \
	else $(PY) -m playwright install chromium; fi

# Every test: unit, integration and the Playwright e2e suite. DATABASE_URL selects PostgreSQL.
test: install-dev browsers
	$(PY) -m pytest $(PYTEST_ARGS)

# Every script runs, even after one misses a budget; the target fails at the end, naming those that did.
bench: $(BENCH)
	@failed=""; for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "over budget or failed:$$failed"; exit 1; fi

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the vendored front-end assets from the npm registry (see static/vendor/VERSIONS.md).
vendor:
	rm -rf /tmp/dali-vendor && mkdir -p /tmp/dali-vendor
	cd /tmp/dali-vendor && npm pack htmx.org@2 bootstrap@5 bootstrap-icons@1 @fontsource/inter@5 >/dev/null && for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp /tmp/dali-vendor/htmx.org-*/package/dist/htmx.min.js static/django_htmx/htmx-2.min.js
	cp /tmp/dali-vendor/bootstrap-[0-9]*/package/dist/css/bootstrap.min.css* /tmp/dali-vendor/bootstrap-[0-9]*/package/dist/js/bootstrap.bundle.min.js* static/vendor/bootstrap/
	cp /tmp/dali-vendor/bootstrap-icons-*/package/font/bootstrap-icons.min.css static/vendor/bootstrap-icons/
	cp /tmp/dali-vendor/bootstrap-icons-*/package/font/fonts/bootstrap-icons.woff* static/vendor/bootstrap-icons/fonts/
	for weight in 400 500 600 700; do cp /tmp/dali-vendor/fontsource-inter-*/package/files/inter-latin-$$weight-normal.woff2 static/vendor/inter/files/; done
	cp /tmp/dali-vendor/fontsource-inter-*/package/LICENSE static/vendor/inter/

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

# slapgate: two commands on a fresh Debian 12 machine, as root.
#   make run    install, then start a master on the embedded SQLite database
#   make test   install everything the tests need (apt and pip), then run the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The upstream reference the wire-format tests compare against, in its own venv (its pins stay apart).
UPSTREAM ?= .venv-upstream
UPSTREAM_PACKAGES := slapos.core==1.26.1 slapos.libnetworkcache
APT_PACKAGES := postgresql
LISTEN ?= 127.0.0.1:8080

.PHONY: run test install system-packages upstream trial clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y --no-install-recommends python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages the tests start for real (PostgreSQL for the scale-out backend).
$(VENV)/.system-packages: Makefile | $(VENV)/.installed
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	fi
	touch $@

system-packages: $(VENV)/.system-packages

$(UPSTREAM)/.installed:
	$(PYTHON) -m venv $(UPSTREAM) || { apt-get update && apt-get install -y --no-install-recommends python3-venv && $(PYTHON) -m venv $(UPSTREAM); }
	$(UPSTREAM)/bin/python -m pip install --quiet $(UPSTREAM_PACKAGES)
	touch $@

upstream: $(UPSTREAM)/.installed

run: install
	$(VENV)/bin/slapgate master --listen $(LISTEN) --insecure-loopback

test: install system-packages upstream
	$(PY) -m pytest -q tests

trial: install system-packages upstream
	$(PY) -m twisted.trial --temp-directory=_trial_temp tests

clean:
	rm -rf $(VENV) $(UPSTREAM) *.egg-info _trial_temp tests.*/

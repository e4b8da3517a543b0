# slapgate: two commands on a fresh Debian 12 machine, as root.
#   make run    install, then start a master on the embedded SQLite database, a node attached
#   make test   install everything the tests need (apt and pip), then run the whole suite
#   make check  the quick set (about 2 minutes): every test but those marked as needing a node,
#               the upstream node or CLI, PostgreSQL, a browser, or slow (tests/needs.py)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The upstream reference the wire-format tests compare against, in its own venv (its pins stay apart).
UPSTREAM ?= .venv-upstream
UPSTREAM_PACKAGES := slapos.core==1.26.1 slapos.libnetworkcache
# The upstream node (`slapos node format|software|instance|report`) needs Python 3.12 and runs as an
# unprivileged user, so it gets its own copy of a 3.12 interpreter outside /root (mode 0700), with
# packages installed into that copy. supervisord is started by slapgrid with an empty environment:
# the copy's lib dir is registered with ldconfig (pyenv's RUNPATH points into /root). The copy
# lives outside the clone so that user can reach it wherever the repository is.
NODE ?= /opt/slapgate/node-py312
NODE_PYTHON ?= $(or $(shell python3.12 -c 'import sys; print(sys.base_prefix)' 2>/dev/null),$(patsubst %/bin/python3.12,%,$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12)))))
NODE_LDCONF := /etc/ld.so.conf.d/slapgate-node.conf
# Debian packages the tests start for real: PostgreSQL (scale-out backend), OpenLDAP (LDAP login),
# memcached (the demo release in tests/memcached), curl (the examples of docs/rest.md); Pango,
# HarfBuzz and a font for WeasyPrint (invoice PDFs), poppler-utils' pdftotext to read them back;
# SyncEvolution, a real SyncML client, and gcc to build the shim its Debian build needs;
# Chromium and its driver, which selenium drives through the dashboard.
APT_PACKAGES := postgresql slapd ldap-utils memcached curl libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz-subset0 fonts-dejavu-core poppler-utils syncevolution gcc libc6-dev chromium \
	chromium-driver
# What `make run` needs: memcached for the demo release, WeasyPrint's libraries for invoice PDFs.
RUN_PACKAGES := memcached libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
LISTEN ?= 127.0.0.1:8080

.PHONY: run stop test check install system-packages upstream node trial bench fuzz clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y --no-install-recommends python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Only the missing Debian packages are installed.
$(VENV)/.system-packages: Makefile | $(VENV)/.installed
	@missing=""; for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	touch $@

system-packages: $(VENV)/.system-packages

$(UPSTREAM)/.installed:
	$(PYTHON) -m venv $(UPSTREAM) || { apt-get update && apt-get install -y --no-install-recommends python3-venv && $(PYTHON) -m venv $(UPSTREAM); }
	$(UPSTREAM)/bin/python -m pip install --quiet $(UPSTREAM_PACKAGES)
	touch $@

upstream: $(UPSTREAM)/.installed

$(NODE)/.installed:
	@if [ ! -x "$(NODE_PYTHON)/bin/python3.12" ]; then \
		echo "Python 3.12 not found (set NODE_PYTHON to its prefix): the upstream node test will skip"; \
		test -z "$$CI"; exit; \
	fi; set -ex; \
	rm -rf $(NODE); mkdir -p $(NODE); \
	tar -C "$(NODE_PYTHON)" --exclude=./lib/python3.12/test --exclude=./lib/python3.12/site-packages -cf - . | tar -C $(NODE) -xf -; \
	mkdir -p $(NODE)/lib/python3.12/site-packages; \
	echo "$(abspath $(NODE))/lib" > $(NODE_LDCONF); ldconfig; \
	$(NODE)/bin/python3.12 -m ensurepip >/dev/null; \
	$(NODE)/bin/python3.12 -m pip install --quiet $(UPSTREAM_PACKAGES); \
	chmod -R a+rX $(NODE); \
	touch $@

node: $(NODE)/.installed

# The local node (rootless, computer COMP-0, partitions under var/node/inst) runs in the master's
# process; its releases are built with the upstream venv's zc.buildout (with slapos.core's slap
# library, which release recipes import). Its supervisord keeps running after the master stops.
# The memcached demo release (a copy of tests/memcached in var/node/demo) is in the catalogue as
# product memcached-demo, with var/node/slapos-client.cfg for the upstream slapos CLI.
# `make run CONFIG=master.cfg` starts the master from a configuration file instead ([master],
# [ldap], [oidc] sections: docs/ldap.md, docs/sso.md), without the local node.
NODE_DIR ?= var/node

run: install upstream
	@missing=""; for package in $(RUN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	$(PY) -m node_twisted.local $(NODE_DIR) http://$(LISTEN)/slap/ $(abspath $(UPSTREAM))/bin/buildout
	$(VENV)/bin/slapgate master $(if $(CONFIG),--config $(CONFIG),--listen $(LISTEN) --insecure-loopback --node $(NODE_DIR)/slapos.cfg --demo-release $(abspath $(NODE_DIR))/demo/memcached/software.cfg)

# Stop what `make run` started: its master (when still running) and the local node's supervisord
# with the instances it runs, which otherwise outlive the master on purpose.
stop: install
	-pkill -TERM -f "[s]lapgate master --listen $(LISTEN) --insecure-loopback --node $(NODE_DIR)/slapos.cfg"
	@if [ -f $(NODE_DIR)/slapos.cfg ]; then $(PY) -m node_twisted.local --stop $(NODE_DIR); fi

# Two workers: the tests marked as starting real parts (tests/needs.py) run in turn on one of
# them (tests/conftest.py), the rest on the other.
test: install system-packages upstream node
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

# The marker expression is tests/needs.py's CHECK_EXCLUDES (a test there keeps the two equal).
check: install system-packages upstream
	$(PY) -m pytest -q -n 2 -m "not (node or upstream or postgres or browser or syncevolution or slow)" tests

trial: install system-packages upstream node
	$(PY) -m twisted.trial --temp-directory=_trial_temp tests

# The benchmarks (issue 8): slapgate vs upstream slapproxy vs bare twisted.web, with wrk, on
# 127.0.0.1 (node poll, the same read over every adaptor, growth up to 10,000 nodes on PostgreSQL,
# requests that allocate, slapgate's node agent against upstream `slapos node` deploying memcached);
# writes docs/performance.md. Subsets and sizes with BENCH_ARGS, e.g. BENCH_ARGS="--parts poll,read
# --duration 5", "--postgres-nodes 0" or "--parts node --node-partitions 50" (python -m bench.run -h).
# Hostile bodies against every face of a fresh master, counted (bench/fuzz.py; issue 16).
FUZZ_ARGS ?= --bodies 2000
fuzz: install
	$(PY) -m bench.fuzz $(FUZZ_ARGS)

bench: install system-packages upstream node
	@command -v wrk >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }
	@$(VENV)/bin/py-spy --version >/dev/null 2>&1 || $(PY) -m pip install --quiet py-spy
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(UPSTREAM) $(NODE) *.egg-info _trial_temp tests.*/
	if [ -f $(NODE_LDCONF) ]; then rm -f $(NODE_LDCONF) && ldconfig; fi

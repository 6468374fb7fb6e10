# Two commands for a fresh machine (see README.md):
#   make run    set up (venv + pinned requirements when missing) and run the workflow on the example
#   make test   set up and run the test suite (fast tests; `make test-all` adds the slow ones)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 4

.PHONY: run test test-slow test-slurm test-postgres test-all lint architecture multicentre-example clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -m slow

test-slurm: $(VENV)/.installed
	bash tests/slurm/start_cluster.sh
	$(BIN)/python -m pytest -m slurm

# OMOP adapter on PostgreSQL: a local server (started when needed, as root), then the postgres-marked tests
test-postgres: $(VENV)/.installed
	set -e; eval "$$(bash tests/postgres/start_postgres.sh)"; $(BIN)/python -m pytest -m postgres

test-all: test test-slow test-slurm test-postgres

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

# docs/architecture.md rule map and docs/rulegraph.svg from the rule graph (needs graphviz `dot`)
architecture: $(VENV)/.installed
	$(BIN)/python docs/make_architecture.py --svg

# Multi-centre demo (docs/multicentre.md): one site package per site of the example, each made in its
# own copy of the workflow restricted to that site, then pooled here -> results/pooled/report.html
MC_DIR ?= results/multicentre_example
MC_SITES ?= $(shell cut -d, -f2 resources/example/patients.csv | tail -n +2 | sort -u)
MC_CONFIG ?=
multicentre-example: $(VENV)/.installed
	set -e; mkdir -p $(MC_DIR); for s in $(MC_SITES); do \
	  d=$(MC_DIR)/$$s; rm -rf $$d; mkdir -p $$d; cp -r Snakefile workflow config resources profiles $$d/; \
	  (cd $$d && $(abspath $(BIN))/snakemake site_package --cores $(CORES) -q \
	    --config "cohort={sites: [$$s]}" "multicentre={site: $$s}" $(MC_CONFIG)); \
	  cp $$d/results/site_package/$$s.zip $(MC_DIR)/$$s.zip; done
	$(BIN)/snakemake --cores $(CORES) -q --config "pool=[$$(ls $(MC_DIR)/*.zip | paste -sd, -)]"

clean:
	rm -rf results logs .snakemake

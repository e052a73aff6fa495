# Set-up and everyday commands. Every target creates .venv and installs the project first if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_FLAGS := $(if $(filter 1 true yes,$(SMOKE)),--smoke) $(if $(ONLY),--only $(ONLY))

.PHONY: install course notebooks test test-quick lab bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make course [SMOKE=1] [ONLY="01 03"]: execute the notebooks headless into build/
course: $(STAMP)
	$(PY) -m coursekit.run $(RUN_FLAGS)

## make notebooks [ONLY=01]: re-execute the committed notebooks in place (default parameters, cleaned)
notebooks: $(STAMP)
	$(PY) -m coursekit.run --inplace $(if $(ONLY),--only $(ONLY))

## make test [TEST_JOBS=2]: lint (ruff over the packages, tests, benchmarks and notebooks), then
## every test, in TEST_JOBS processes (pytest-xdist; each notebook's smoke run stays on one of them)
TEST_JOBS ?= 2
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadgroup

## make test-quick: lint, then every test that runs no notebook, kernel, torchrun or browser
## (under a minute: for the edit-test loop; make test runs them all)
test-quick: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n $(TEST_JOBS) -m "not slow" -q

## make lab [LAB_FLAGS=...]: JupyterLab on notebooks/ (as root, --allow-root is added: JupyterLab
## refuses root otherwise)
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/

## make bench [EPOCHS=10]: plain DataLoader loop vs helpers.fit on the fast path
bench: $(STAMP)
	$(PY) benchmarks/bench_training.py --epochs $(or $(EPOCHS),10)

clean:
	rm -rf build

## make student [ONLY=03] [CHECK=1]: build/student/, the notebooks without solutions or teacher's
## answers (stubs and checks stay, check outputs cleared); CHECK=1 also grades each edition: 0%
student: $(STAMP)
	$(PY) -m coursekit.student $(if $(ONLY),--only $(ONLY)) $(if $(filter 1 true yes,$(CHECK)),--check)

## make grade SUBMISSIONS=dir/ [TIMEOUT=120] [JOBS=1]: run each submitted notebook (smoke mode,
## per-cell timeout) and grade its exercises into build/grades.csv, build/grades.md, .html
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir/ (files or folders)"; exit 2; }
	$(PY) -m coursekit.grade $(SUBMISSIONS) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(JOBS),--jobs $(JOBS))

## make site [NOTEBOOKS=build/executed]: build/site/, static HTML of the executed notebooks and an
## index page; it works offline (MathJax ships with it: `npm ci` fetches it once, see package.json)
MATHJAX := node_modules/mathjax/es5/tex-svg-full.js
$(MATHJAX): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(MATHJAX)

site: $(STAMP) $(MATHJAX)
	$(PY) -m coursekit.site $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS))

.PHONY: student grade site

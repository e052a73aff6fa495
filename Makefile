# Set-up and everyday commands. Every target creates .venv and installs the project first if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# a smoke run takes COURSE_JOBS notebooks at a time (2: one per core of a 2-core laptop)
COURSE_JOBS ?= 2
RUN_FLAGS := $(if $(filter 1 true yes,$(SMOKE)),--smoke --jobs $(COURSE_JOBS)) $(if $(ONLY),--only $(ONLY))

.PHONY: install course notebooks test test-quick lab bench clean help

## make help: this list of targets and their options
help:
	@sed -n 's/^## //p' $(firstword $(MAKEFILE_LIST))

## make install: create .venv and install the course with its test tools (every target does it)
install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## make course [SMOKE=1 [COURSE_JOBS=2]] [ONLY="01 03"]: execute the notebooks headless into build/
## (a smoke run: COURSE_JOBS notebooks at a time, each kernel on one thread, forked warm)
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

## make clean: delete build/ (generated files); the class's grades in grades/ are kept
clean:
	rm -rf build

## make student [ONLY=03] [CHECK=1]: the package to hand out, build/student/ and build/student.zip:
## the student notebooks (no solutions, no teacher's answers, check outputs cleared), helpers,
## the environment files and a student README; it fails if an answer is given away anywhere;
## CHECK=1 also grades each student notebook (every exercise must be 'not attempted')
student: $(STAMP)
	$(PY) -m coursekit.student $(if $(ONLY),--only $(ONLY))
	$(if $(filter 1 true yes,$(CHECK)),$(PY) -m coursekit.student_check $(if $(ONLY),--only $(ONLY)))

## make grade SUBMISSIONS="Assignment 1/" [ROSTER=roster.csv] [FRESH=1] [OUT=grades/] [TIMEOUT=120]
##   [NOTEBOOK_TIMEOUT=1200] [JOBS=2] [SCHEDULER=tcp://host:8786] [FIGURES=1]: grade the notebooks
## handed back (one file or folder; spaces are fine) into grades/ (not build/: make clean keeps
## it), merged with the grades kept there (FRESH=1 starts over): grades.csv, students.csv (a row
## per student), grades.md/.html, answers.md, feedback/; on a local Dask cluster of JOBS
## processes, or the workers of SCHEDULER (docs/grading.md); FIGURES=1 draws the figures
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo 'usage: make grade SUBMISSIONS="folder/" (a file or folder)'; exit 2; }
	$(PY) -m coursekit.grade "$(SUBMISSIONS)" $(if $(ROSTER),--roster "$(ROSTER)") \
	  $(if $(filter 1 true yes,$(FRESH)),--fresh) $(if $(OUT),--out "$(OUT)") \
	  $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(NOTEBOOK_TIMEOUT),--notebook-timeout $(NOTEBOOK_TIMEOUT)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
	  $(if $(filter 1 true yes,$(FIGURES)),--figures)

## make site [NOTEBOOKS=build/executed]: build/site/, static HTML of the executed notebooks and an
## index page; it works offline (MathJax ships with it: `npm ci` fetches it once, see package.json)
MATHJAX := node_modules/mathjax/es5/tex-svg-full.js
$(MATHJAX): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(MATHJAX)

site: $(STAMP) $(MATHJAX)
	$(PY) -m coursekit.site $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS))

## make zh [ONLY=03]: the Chinese edition: bring translations/zh_CN/*.po in step with the English
## notebooks, check every entry (translated, not fuzzy, same code, same formulas), then write
## notebooks/zh_CN/ (it fails, naming each cell, while one is untranslated or fuzzy)
zh: $(STAMP)
	$(PY) -m coursekit.translate build $(if $(ONLY),--only $(ONLY))

.PHONY: student grade site zh

# The course's commands. Each installs what it needs first (a venv in .venv, pinned versions).
#   make lab     JupyterLab on the student notebooks
#   make test    the whole suite: unit tests and every solution notebook under nbval
#   make student regenerate notebooks/ from solutions/ (nbgrader's preprocessors)
#   make check-notebooks  student notebooks in sync with solutions, no leaks, all notebooks run
#   make grade SUBMISSIONS=DIR  autograde DIR/<student>/*.ipynb into grades.csv and feedback
#   make bench   every model in both frameworks and every notebook, into bench/RESULTS.md [DATASET=ml-1m]

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KERNEL := course-recsys
STAMP := $(VENV)/.installed
export MPLBACKEND ?= Agg
# JupyterLab refuses to run as root (containers, CI) unless told to.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

.PHONY: install lab test unit notebooks student check-notebooks grade bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (course-recsys)" >/dev/null
	@touch $(STAMP)

install: $(STAMP)

lab: install
	MPLBACKEND=module://matplotlib_inline.backend_inline $(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/

# Unit tests and the notebooks in one pytest run, so the closing line counts everything.
test: install
	$(PY) -m pytest tests solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider -q -rs

unit: install
	$(PY) -m pytest tests -q -rs

check-notebooks: install
	$(PY) -m pytest tests/test_notebooks.py solutions --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider -q -rs

student: install
	$(PY) -m course_lib.grading.generate solutions notebooks

grade: install
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR (one folder per student)"; exit 2; }
	$(VENV)/bin/course-grade "$(SUBMISSIONS)" $(if $(OUT),--out "$(OUT)")

bench: install
	$(PY) bench/run_all.py $(if $(DATASET),--dataset $(DATASET))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The course's commands. Each is one line of tasks.py (the same commands without make:
# `python tasks.py lab`, `python tasks.py test`, ...), which installs what it needs first: a venv in
# .venv with the locked versions of requirements-lock.txt.
#   make lab     JupyterLab on the student notebooks
#   make test    ruff check, then the whole suite: unit tests and every solution notebook under nbval
#   make lint    ruff check (also run by make test and by the pre-commit hook)
#   make student regenerate notebooks/ from solutions/ and stamp the Colab address of pyproject.toml
#   make check-notebooks  student notebooks in sync with solutions, no leaks, all notebooks run
#   make browser-test  the student notebooks in JupyterLab in headless Chromium (tests/browser, a few minutes;
#                installs Debian's Chromium with apt-get when missing); COURSE_BROWSER_REQUIRED=1: no browser fails
#   make grade SUBMISSIONS=DIR  grade DIR/<student>/*.ipynb (or an LMS .zip): each student's code in a bubblewrap
#                sandbox, judged outside it, into grades.csv and nbgrader's gradebook [OUT=dir] [WORKERS=n] [FORCE=1]
#   make course  nbgrader's course directory course/: sources from solutions/, generate_assignment for each
#   make instructor-lab  JupyterLab on course/ with nbgrader's formgrader (make lab hides nbgrader's tools)
#   make bench   every model in both frameworks and every notebook, into bench/RESULTS.md [DATASET=ml-1m]
#   make colab-check  Python 3.13 with Google Colab's versions: install as the setup cell does, run the tests
#   make lock    regenerate requirements-lock.txt from pyproject.toml (pip-compile)
# TORCH_CPU=1 (Linux): install PyTorch's CPU build from PyTorch's own index instead of PyPI's CUDA build.
#   The same variable works without make (`TORCH_CPU=1 python3 tasks.py lab`); COURSE_TORCH_CPU=1 is an older
#   name tasks.py still accepts. TORCH_CPU=0 or empty means PyPI's build.

PYTHON ?= python3
TASKS := $(PYTHON) tasks.py $(if $(filter-out 0,$(TORCH_CPU)),--torch-cpu,)

.PHONY: course instructor-lab install lab test unit lint student check-notebooks browser-test grade bench colab-check lock clean

install:
	$(TASKS) install

lab:
	$(TASKS) lab

test:
	$(TASKS) test

unit:
	$(TASKS) unit

lint:
	$(TASKS) lint

student:
	$(TASKS) student

check-notebooks:
	$(TASKS) check-notebooks

browser-test:
	$(TASKS) browser-test

grade:
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR (one folder per student)"; exit 2; }
	$(TASKS) grade "$(SUBMISSIONS)" $(if $(OUT),--out "$(OUT)") $(if $(WORKERS),--workers $(WORKERS)) $(if $(filter-out 0,$(FORCE)),--force)

course:
	$(TASKS) course

instructor-lab:
	$(TASKS) instructor-lab

bench:
	$(TASKS) bench $(if $(DATASET),--dataset $(DATASET))

colab-check:
	$(PYTHON) tasks.py colab-check

lock:
	$(TASKS) lock

clean:
	rm -rf .venv .venv-colab .pytest_cache .ruff_cache

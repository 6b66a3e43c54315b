# Everything installs into .venv from pyproject.toml; a fresh machine needs only python3 >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader starts `alembic` and kernels by name: the venv's bin must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install test lint release demo grade lab clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# A kernel spec inside the venv, so notebooks run with the venv's packages.
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	touch $@

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

release: install
	$(BIN)/python -m course.instructor.course_dir

demo: install
	$(BIN)/python -m course.instructor.demo

# Grade every submission in submitted/ (or only some lessons: make grade LESSONS="lesson1"),
# with feedback, grades.csv and the class report in reports/.
grade: install
	$(BIN)/python -m course.instructor.grade_class $(LESSONS)

lab: install
	$(BIN)/jupyter lab --notebook-dir=release

clean:
	rm -rf submitted autograded feedback reports gradebook.db grades.csv nbgrader.log

# Everything installs into .venv from pyproject.toml; a fresh machine needs only python3 >= 3.11.
# Both environments are built on the system's python3 when it is 3.11+ and can make venvs,
# else on the first python3 on PATH; PYTHON=... chooses. The kernels run every submission on
# it: Debian's build (the interpreter linked statically) ran a plain Python loop 23% faster
# than pyenv's default build (libpython shared, no --enable-optimizations), and on the 2-core
# machine the test suite took 11:55 on Debian's 3.11.2 against 13:49-14:30 on pyenv's 3.11.7.
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c \
	'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV := .venv
BIN := $(VENV)/bin
KERNEL_VENV := $(VENV)/kernel
# nbgrader starts `alembic` and kernels by name: the venv's bin must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install test lint release demo grade round-trip lab lab-instructor clean

install: $(VENV)/.installed

# Two environments. .venv: the instructor's, with the student package and the grader.
# $(KERNEL_VENV): the one every notebook kernel runs in, with the student package alone, so
# no kernel (a student's, or a grading one) can import the grader.
$(VENV)/.installed: pyproject.toml course/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./course -e '.[dev]'
	$(PYTHON) -m venv $(KERNEL_VENV)
	$(KERNEL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KERNEL_VENV)/bin/python -m pip install --quiet -e ./course
	# The kernel spec lives in .venv (where Jupyter and nbgrader look) but starts the kernel
	# environment's python.
	$(KERNEL_VENV)/bin/python -m ipykernel install --prefix $(VENV) --name python3 \
		--display-name "Python 3 (ipykernel)"
	touch $@

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

release: install
	$(BIN)/python -m grader.instructor.course_dir

demo: install
	$(BIN)/python -m grader.instructor.demo

# Grade every submission in submitted/ (or only some lessons: make grade LESSONS="lesson1"),
# with feedback, grades.csv and the class report in reports/.
grade: install
	$(BIN)/python -m grader.instructor.grade_class $(LESSONS)

# nbgrader's whole round trip on this machine: a temporary exchange, three simulated students.
round-trip: install
	$(BIN)/python -m grader.instructor.round_trip

# The student's view: the release in JupyterLab, with nbgrader's Validate and Assignments but
# without its instructor tools (Create Assignment, Formgrader, Courses): lab/student is the
# Jupyter config folder that switches those off.
lab: install
	JUPYTER_CONFIG_DIR=$(CURDIR)/lab/student $(BIN)/jupyter lab --notebook-dir=release $(AS_ROOT)

# The instructor's view: the whole course folder, with the formgrader and Create Assignment.
lab-instructor: install
	$(BIN)/jupyter lab --notebook-dir=. $(AS_ROOT)

# Jupyter refuses to run as root unless told; a container's shell often is root.
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf submitted autograded feedback reports gradebook.db grades.csv nbgrader.log

# Two commands do everything: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Keep TensorFlow's C++ start-up log off stderr everywhere the kit runs code.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: lab instructor test test-fast bench lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml jupyter/overrides.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# Lab defaults for a classroom: no news or update pop-ups over the lessons.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# Learners work on copies: `make lab` keeps my-work/ (git-ignored) in step with course/ and
# exercises/ without overwriting an edit, and opens JupyterLab on it, nbgrader's instructor
# tools off. `make instructor` opens the whole kit with them. Both put the venv's bin/ first
# on PATH (the formgrader runs `alembic` from PATH). See cnnwidgets/lab/.
# LAB_ARGS: more `jupyter lab` options, e.g. LAB_ARGS="--no-browser --port=8899".
lab: $(STAMP)
	$(PY) -m cnnwidgets.lab $(LAB_ARGS)

instructor: $(STAMP)
	$(PY) -m cnnwidgets.lab --instructor $(LAB_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# While working: everything but what grades, trains, runs notebooks or drives a browser
# (the tests marked slow or e2e). CI runs `make test`.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

# The checks CI runs before the tests (.ci/run), in its order: lint, layout, then types
# (mypy reads which folders from pyproject.toml: cnnwidgets/core and cnnwidgets/grading).
lint: $(STAMP)
	$(PY) -m ruff check
	$(PY) -m ruff format --check
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache .mypy_cache

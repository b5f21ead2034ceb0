# Two commands do everything: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Keep TensorFlow's C++ start-up log off stderr everywhere the kit runs code.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: lab test bench lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml jupyter/overrides.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# Lab defaults for a classroom: no news or update pop-ups over the lessons.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# The server's root is the repository (lessons and exercises side by side); the
# browser opens on the lessons.
# Containers often run as root, which Jupyter refuses unless told.
# The venv's bin/ goes first on PATH: the formgrader runs `alembic` from PATH, and
# terminals and kernels then find the kit's own tools, activated or not.
lab: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab --ServerApp.root_dir=. \
		--LabApp.default_url=/lab/tree/course $(if $(filter 0,$(shell id -u)),--allow-root) \
		$(LAB_ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(PY) -m ruff check cnnwidgets tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

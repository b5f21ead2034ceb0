"""The repository keeps its own rules: clean notebooks, conda and pip in step, the two commands."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import tomllib
import yaml

REPO = Path(__file__).resolve().parents[2]


def _tracked_notebooks() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "*.ipynb"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    found = {REPO / p for p in out}
    for folder in ("course", "solutions", "exercises"):
        found.update((REPO / folder).rglob("*.ipynb"))
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts and p.exists())


@pytest.mark.parametrize("path", _tracked_notebooks(), ids=lambda p: str(p.relative_to(REPO)))
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name} carries saved widget state"


def _private_names(source: str) -> list[str]:
    """The package's private names a cell imports or reaches: ``cnnwidgets._keras``,
    ``from cnnwidgets.grading import _x``, ``cw._helper`` after ``import cnnwidgets as cw``."""
    # IPython's magics and shell lines are not Python: blank them, keeping the line numbers.
    code = "\n".join("" if line.lstrip()[:1] in "%!" and line.strip() else line
                     for line in source.splitlines())  # fmt: skip
    try:
        tree = ast.parse(code)
    except SyntaxError:  # not Python at all: read the dotted names off the text
        return re.findall(r"cnnwidgets(?:\.\w+)*\._\w*", code)

    def private(dotted: str) -> bool:
        return any(p.startswith("_") and not p.endswith("__") for p in dotted.split("."))

    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cnnwidgets":
                    found += [alias.name] if private(alias.name) else []
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "cnnwidgets":
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found += [dotted] if private(dotted) else []
                modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.insert(0, inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in modules and private(".".join(chain)):
                found.append(".".join([inner.id, *chain]))
    return found


def test_the_private_name_check_sees_every_form():
    cell = (
        "%matplotlib inline\n"
        "import cnnwidgets as cw\n"
        "import cnnwidgets._keras\n"
        "from cnnwidgets.grading import _where, check_head\n"
        "from cnnwidgets._keras import quiet_keras\n"
        "from cnnwidgets.keras_helpers import not_a_model\n"
        "cw._LAZY, cw.__version__, cw.conv2d"
    )
    assert _private_names(cell) == [
        "cnnwidgets._keras",
        "cnnwidgets.grading._where",
        "cnnwidgets._keras.quiet_keras",
        "cw._LAZY",
    ]


@pytest.mark.parametrize("path", _tracked_notebooks(), ids=lambda p: str(p.relative_to(REPO)))
def test_notebooks_use_only_the_public_api(path):
    # Lessons, exercises and solutions import what the package exports; its private
    # names (`_` anywhere in the dotted path) may change without notice.
    nb = json.loads(path.read_text(encoding="utf-8"))
    used = {
        f"cell {i}: {name}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        for name in _private_names("".join(cell["source"]))
    }
    assert not used, f"{path.name} uses private names of cnnwidgets: {sorted(used)}"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement.strip().lower().replace("_", "-"))


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_deps = {_name(r): _spec(r) for r in project["dependencies"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_deps: dict[str, str] = {}
    for dep in env["dependencies"]:
        reqs = dep["pip"] if isinstance(dep, dict) else [dep]
        for req in reqs:
            if req.startswith("-e") or _name(req) in ("python", "pip"):
                continue
            conda_deps[_name(req)] = _spec(req)
    assert conda_deps == pip_deps, (
        "environment.yml and pyproject.toml name different dependencies or versions: "
        f"only in pyproject {sorted(set(pip_deps) - set(conda_deps))}, "
        f"only in environment.yml {sorted(set(conda_deps) - set(pip_deps))}, "
        f"different ranges {[k for k in pip_deps if pip_deps[k] != conda_deps.get(k, pip_deps[k])]}"
    )


def test_python_requirement_matches():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = (REPO / "environment.yml").read_text()
    low = re.search(r">=\s*(3\.\d+)", project["requires-python"]).group(1)
    assert f"python>={low}" in env.replace(" ", "")


def test_readme_opens_with_the_two_commands():
    head = (REPO / "README.md").read_text().split("\n## ")[0]
    assert "make lab" in head and "make test" in head


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()


def _make_target(name: str) -> tuple[str, list[str]]:
    """A Makefile target's prerequisites and its recipe's commands."""
    lines = (REPO / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return lines[start].partition(":")[2].strip(), recipe


def test_ci_checks_lint_format_and_types_before_the_tests():
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    makes = [line for line in ci if line.startswith("make ")]
    assert makes == ["make lint", "make test"], "CI: the checks first, then the tests"
    # `make lint` builds the venv first, as `make test` does, and runs in this order:
    prerequisites, recipe = _make_target("lint")
    assert prerequisites == _make_target("test")[0] == "$(STAMP)"
    assert recipe == ["$(PY) -m ruff check", "$(PY) -m ruff format --check", "$(PY) -m mypy"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["mypy"]["files"] == ["cnnwidgets/core", "cnnwidgets/grading"]
    assert {_name(r) for r in project["project"]["optional-dependencies"]["test"]} >= {
        "ruff",
        "mypy",
    }


def test_the_package_ships_its_type_hints():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert (REPO / "cnnwidgets" / "py.typed").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["cnnwidgets"]


def test_pytest_is_strict_about_markers_config_and_xfails():
    pytest_ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    options = pytest_ini["ini_options"]
    assert {"--strict-markers", "--strict-config"} <= set(options["addopts"].split())
    assert options["xfail_strict"] is True


@pytest.mark.parametrize(
    "path",
    [
        ".venv",  # a folder, or a link to one
        ".venv/bin/python",
        "my-work/course/01_images_and_convolution.ipynb",  # the learner's copies
        "my-work/a1_convolution/a1_convolution.ipynb",  # an assignment they fetched
        ".lab/exchange/cnn-course/outbound/a1_convolution/a1_convolution.ipynb",
        ".lab/learner/nbgrader_config.py",
    ],
)
def test_what_make_lab_writes_is_ignored(path):
    run = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", path], cwd=REPO, capture_output=True
    )
    if run.returncode == 128:
        pytest.skip(f"not a git repository: {run.stderr.decode(errors='replace').strip()}")
    assert run.returncode == 0, f"{path} is not git-ignored: `git pull` could meet it"


def test_every_listed_widget_name_is_exported():
    import cnnwidgets
    import cnnwidgets.widgets as widgets
    from cnnwidgets._public import WIDGETS

    for name in WIDGETS:
        assert getattr(widgets, name) is getattr(cnnwidgets, name), name
    assert set(WIDGETS) <= set(cnnwidgets.__all__)

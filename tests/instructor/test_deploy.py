"""The worker image recipe (docs/deploy/worker.Dockerfile), as far as a machine without Docker
can run it: the kit's wheel is built from the package alone, holds no notebook, installs with
the recipe's own pip command in a fresh venv, imports from there and not from the clone, and
its worker can make the sandbox. The dependencies come from this venv (a path file), so
nothing is downloaded; the apt packages and the user are read off the recipe.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .conftest import sandbox_missing

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "docs" / "deploy" / "worker.Dockerfile"
GUIDE = REPO / "docs" / "grading-on-dask.md"


def _instructions(text: str) -> list[tuple[str, str]]:
    """The recipe's instructions, continuation lines joined: (keyword, arguments)."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_the_recipe_installs_bubblewrap_and_runs_as_an_unprivileged_user():
    steps = _instructions(RECIPE.read_text())
    runs = " && ".join(rest for keyword, rest in steps if keyword == "RUN")
    assert re.search(r"apt-get install [^&]*\bbubblewrap\b[^&]*\butil-linux\b", runs), runs
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    assert "useradd" in runs and users[-1] in runs
    copies = [rest for keyword, rest in steps if keyword in ("COPY", "ADD")]
    assert copies and all(c.startswith("cnnwidgets-") for c in copies), copies
    assert "dask" in dict(steps)["CMD"] and "--nthreads" in dict(steps)["CMD"]


def test_the_guide_shows_the_recipe_and_both_cluster_set_ups():
    text = GUIDE.read_text()
    for needed in ("deploy/worker.Dockerfile", "kind: DaskCluster", "SLURMCluster(",
                   "--cluster tcp://", "--regrade"):  # fmt: skip
        assert needed in text, needed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The kit's wheel, built as the recipe says, from a copy of the package alone."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "cnnwidgets", src / "cnnwidgets",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    out = tmp_path_factory.mktemp("context")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (found,) = out.glob("cnnwidgets-*.whl")
    return found


def test_the_wheel_holds_the_package_and_no_notebook(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("cnnwidgets/instructor/autograde/cluster.py") for n in names)
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"cnnwidgets", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1]
                    + ".dist-info"}, tops  # fmt: skip
    assert not [n for n in names if n.endswith(".ipynb") or "solutions" in n.split("/")]


def test_the_recipe_installs_the_kit_in_a_fresh_venv(wheel, tmp_path):
    # The recipe's own commands: `python -m venv /opt/grader`, then its pip line, with the
    # wheel where the COPY put it; --no-index: the dependencies are those of this venv.
    steps = _instructions(RECIPE.read_text())
    install = next(rest for k, rest in steps if k == "RUN" and "pip install" in rest)
    assert "python -m venv /opt/grader" in install
    pip_line = next(p.strip() for p in install.split("&&") if "pip install" in p)
    venv = tmp_path / "grader"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    fresh_site = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    (fresh_site / "_deps_from_the_test_venv.pth").write_text(sysconfig.get_paths()["purelib"])
    args = shlex.split(pip_line.replace("/opt/grader", str(venv)))
    args = [str(wheel) if a.startswith("/tmp/cnnwidgets-") else a for a in args]
    done = subprocess.run([*args, "--no-index"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    probe = (
        "import json, cnnwidgets, distributed\n"
        "from cnnwidgets.instructor.autograde._probe import probe\n"
        "print(json.dumps({'file': cnnwidgets.__file__, **probe(True)}))"
    )
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True,
                         text=True, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["file"].startswith(str(venv)), answer  # the wheel's copy, not the clone
    assert answer["version"] is not None and answer["kit"] is not None
    if sandbox_missing() is None:
        assert answer["sandbox"] is None, answer
    worker = subprocess.run([str(venv / "bin" / "python"), "-m", "distributed.cli.dask_worker",
                             "--help"], capture_output=True, text=True)  # fmt: skip
    assert worker.returncode == 0 and "--nthreads" in worker.stdout, worker.stderr

"""The two faces' commands and settings: roots, PATH, the instructor tools off for learners,
the private exchange only where nothing else is set up."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cnnwidgets.lab import faces
from cnnwidgets.lab.faces import lab_command

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kit(tmp_path):
    root = tmp_path / "kit"
    (root / "course").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    return root


@pytest.fixture
def no_exchange(monkeypatch, tmp_path):
    """A machine where nbgrader's default exchange does not exist."""
    monkeypatch.setattr(faces, "NBGRADER_DEFAULT_EXCHANGE", str(tmp_path / "no-such-exchange"))


def _env(tmp_path, **extra) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), **extra}


def _option(argv: list[str], name: str) -> str:
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
    assert len(values) == 1, argv
    return values[0]


def test_learner_face_serves_my_work_with_the_learner_settings(kit, tmp_path, no_exchange):
    argv, env = lab_command(kit, "learner", ["--no-browser"], _env(tmp_path))
    assert argv[:2] == [str(Path(sys.executable).parent / "jupyter"), "lab"]
    assert _option(argv, "ServerApp.root_dir") == str(kit.resolve() / "my-work")
    assert _option(argv, "LabApp.default_url") == "/lab/tree/course"
    assert argv[-1] == "--no-browser"
    assert ("--allow-root" in argv) == (os.getuid() == 0)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
    config = env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    # learner settings first, then the settings both faces share
    assert config[:2] == [
        str(kit.resolve() / "jupyter/learner"),
        str(kit.resolve() / "jupyter/lab"),
    ]


def test_instructor_face_serves_the_kit(kit, tmp_path, no_exchange):
    argv, env = lab_command(kit, "instructor", [], _env(tmp_path, JUPYTER_CONFIG_PATH="/mine"))
    assert _option(argv, "ServerApp.root_dir") == str(kit.resolve())
    assert _option(argv, "LabApp.default_url") == "/lab/tree/my-work/course"
    config = env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert str(kit.resolve() / "jupyter/learner") not in config
    assert config[:2] == [
        str(kit.resolve() / "jupyter/lab"),
        str(kit.resolve() / ".lab/instructor"),
    ]
    assert config[-1] == "/mine"  # the user's own settings path is kept


def test_venv_bin_is_first_on_path_once(kit, tmp_path, no_exchange):
    bindir = str(Path(sys.executable).parent)
    _, env = lab_command(kit, "learner", [], _env(tmp_path, PATH=f"/usr/bin:{bindir}:/bin"))
    assert env["PATH"].split(os.pathsep) == [bindir, "/usr/bin", "/bin"]


def test_an_unknown_face_is_refused(kit, tmp_path):
    with pytest.raises(ValueError, match="face must be one of"):
        lab_command(kit, "student", [], _env(tmp_path))


def _settings(env: dict, face: str) -> str:
    """The nbgrader settings the face adds, from the folder it put on JUPYTER_CONFIG_PATH."""
    folders = [Path(p) for p in env["JUPYTER_CONFIG_PATH"].split(os.pathsep)]
    (folder,) = [p for p in folders if p.parent.name == ".lab"]
    assert folder.name == face
    return (folder / "nbgrader_config.py").read_text()


def test_without_an_exchange_the_kit_uses_its_own(kit, tmp_path, no_exchange):
    _, env = lab_command(kit, "instructor", [], _env(tmp_path))
    assert (kit / ".lab" / "exchange").is_dir()
    exchange = str(kit.resolve() / ".lab" / "exchange")
    assert f"c.Exchange.root = {exchange!r}" in _settings(env, "instructor")
    _, env = lab_command(kit, "learner", [], _env(tmp_path))
    assert f"c.Exchange.root = {exchange!r}" in _settings(env, "learner")


def test_an_exchange_set_up_by_the_machine_is_left_alone(kit, tmp_path, no_exchange):
    site = tmp_path / "site"
    site.mkdir()
    (site / "nbgrader_config.py").write_text('c = get_config()\nc.Exchange.root = "/srv/x"\n')
    _, env = lab_command(kit, "instructor", [], _env(tmp_path, JUPYTER_CONFIG_PATH=str(site)))
    assert "Exchange.root" not in _settings(env, "instructor")
    assert not (kit / ".lab" / "exchange").exists()
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[-1] == str(site)


def test_an_existing_default_exchange_is_used(kit, tmp_path, monkeypatch):
    default = tmp_path / "exchange"
    default.mkdir()
    monkeypatch.setattr(faces, "NBGRADER_DEFAULT_EXCHANGE", str(default))
    _, env = lab_command(kit, "instructor", [], _env(tmp_path))
    assert "Exchange.root" not in _settings(env, "instructor")


def test_learners_fetch_into_their_folder(kit, tmp_path, no_exchange):
    _, env = lab_command(kit, "learner", [], _env(tmp_path))
    work = str(kit.resolve() / "my-work")
    assert f"c.Exchange.assignment_dir = {work!r}" in _settings(env, "learner")
    _, env = lab_command(kit, "instructor", [], _env(tmp_path))
    assert "assignment_dir" not in _settings(env, "instructor")


def test_a_run_from_labs_terminal_does_not_stack_settings(kit, tmp_path, no_exchange):
    _, first = lab_command(kit, "learner", [], _env(tmp_path))
    _, second = lab_command(kit, "learner", [], first)  # Lab's terminal inherits the env
    assert second["JUPYTER_CONFIG_PATH"] == first["JUPYTER_CONFIG_PATH"]
    assert second["PATH"] == first["PATH"]


@pytest.mark.parametrize(
    "text, names",
    [
        ('c.Exchange.root = "/srv/nbgrader/exchange"\n', True),
        ("c.ExchangeFactory.exchange = 'ngshare'\n", True),
        ('# c.Exchange.root = "/srv/x"\n', False),
        ("c.CourseDirectory.course_id = 'x'\n", False),
    ],
)
def test_which_configs_name_an_exchange(tmp_path, text, names):
    path = tmp_path / "nbgrader_config.py"
    path.write_text(text)
    assert faces._names_an_exchange(path) is names


def test_json_configs_name_an_exchange(tmp_path):
    path = tmp_path / "nbgrader_config.json"
    path.write_text(json.dumps({"Exchange": {"root": "/srv/x"}}))
    assert faces._names_an_exchange(path)
    path.write_text(json.dumps({"CourseDirectory": {"course_id": "x"}}))
    assert not faces._names_an_exchange(path)


def test_the_default_exchange_is_nbgraders():
    from nbgrader.exchange.default import Exchange

    assert Exchange.class_traits()["root"].default_value == faces.NBGRADER_DEFAULT_EXCHANGE


def test_the_kits_own_config_names_no_exchange():
    # otherwise a machine without an exchange would get a warning instead of the kit's own
    assert not faces._names_an_exchange(REPO / "nbgrader_config.py")


# ---- the settings folders ---------------------------------------------------------------


def _nbgrader_plugins() -> set[str]:
    import re

    folder = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader/static"
    found = set()
    for js in folder.glob("*.js"):
        found.update(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', js.read_text(errors="replace")))
    return found


def test_learner_settings_switch_off_the_instructor_tools():
    page = json.loads((REPO / "jupyter/learner/labconfig/page_config.json").read_text())
    off = {name for name, disabled in page["disabledExtensions"].items() if disabled}
    assert off == {
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:course-list",
    }
    # the names are nbgrader's (a renamed plugin would silently come back on)
    assert off < _nbgrader_plugins()
    assert {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"} <= (
        _nbgrader_plugins() - off
    )
    server = json.loads(
        (REPO / "jupyter/learner/jupyter_server_config.d/cnnkit-learner.json").read_text()
    )
    assert server["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }


def test_both_faces_validate_through_the_kit():
    import importlib

    server = json.loads(
        (REPO / "jupyter/lab/jupyter_server_config.d/cnnkit-validate.json").read_text()
    )
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions == {
        "cnnwidgets.lab.validate": True,
        "nbgrader.server_extensions.validate_assignment": False,
    }
    for name in extensions:  # both importable as server extensions
        module = importlib.import_module(name)
        assert hasattr(module, "_load_jupyter_server_extension") or hasattr(
            module, "load_jupyter_server_extension"
        )

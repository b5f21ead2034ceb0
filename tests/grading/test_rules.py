"""Rules on what an answer may use: declarations, the room's reports, and the messages.

The room here runs without a sandbox (as the student's own self-check does):
what it shows is how cells run and what the reports and messages say. That no
disguise escapes a room is shown in the sandbox, by tests/instructor/test_rooms.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from cnnwidgets.grading import room as rooms
from cnnwidgets.grading.rules import RULES, declared_rules, rule_violation
from tests.instructor import _redteam

REPO = Path(__file__).resolve().parents[2]
NUMPY_ONLY = RULES["numpy_only"]


def test_declarations_are_read_from_literal_calls_only():
    source = (
        "from cnnwidgets.grading import assert_follows_rule\n"
        'assert_follows_rule("numpy_only", "conv2d", example="conv2d(1, 2)")\n'
        "import cnnwidgets.grading as g\n"
        'g.assert_follows_rule("by_hand", "size_a", "size_b")\n'
        "name = 'pool2d'\n"
        'assert_follows_rule("numpy_only", name)  # not a literal: not a declaration\n'
    )
    assert declared_rules(source) == [
        ("numpy_only", ("conv2d",)),
        ("by_hand", ("size_a", "size_b")),
    ]
    assert declared_rules("def broken(:\n") == []


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_every_declared_rule_exists_and_its_task_states_it(folder):
    """Each declaration names a known rule, and the task's text states that rule's sentence."""
    declared = 0
    for path in sorted((REPO / folder).glob("*/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        for index, cell in enumerate(cells):
            for rule, names in declared_rules(cell.source) if cell.cell_type == "code" else []:
                declared += 1
                assert rule in RULES, f"{path.name}: unknown rule {rule!r}"
                answer = max(
                    i for i in range(index)
                    if cells[i].metadata.get("nbgrader", {}).get("solution")
                )  # fmt: skip
                task = max(i for i in range(answer) if cells[i].cell_type == "markdown")
                assert RULES[rule].sentence in cells[task].source, (
                    f"{path.name}: the task above {names} does not state the rule {rule!r}"
                )
    assert declared >= 22  # a1 (7), a2 (6), a4 (8) and a6 (1) declare their rules


@pytest.fixture(scope="module")
def room():
    site = rooms.local_site(["numpy"], Path(tempfile.mkdtemp(prefix="room-test-")) / "site")
    running = rooms.Room(rooms.command(["numpy"], str(site)), cwd=str(site.parent))
    yield running
    running.kill()


def _run(room, *cells: tuple[str, str]) -> None:
    for cell_id, source in cells:
        room.run_cell(cell_id, source, timeout=10)


def test_honest_numpy_answers_follow_the_rule(room):
    _run(
        room,
        ("cell 1", "import numpy as np\n%matplotlib inline"),
        ("helper", "def windows(x, k):\n    return np.lib.stride_tricks.sliding_window_view(x, k)"),
        (
            "conv2d",
            "def conv2d(image, kernel):\n"
            "    return np.einsum('ijkl,kl->ij', windows(image, np.shape(kernel)), kernel)\n"
            "%timeit conv2d(np.ones((4, 4)), np.ones((2, 2)))\n"
            "conv2d?",
        ),  # fmt: skip
    )
    report = room.check(["conv2d"], "import numpy as np; conv2d(np.ones((4, 4)), np.eye(2))")
    assert report["names"]["conv2d"]["defined"], report
    assert report["example"] == {"error": None}, report
    assert rule_violation(NUMPY_ONLY, ["conv2d"], report) is None


def test_a_forbidden_import_is_named_with_its_cell_and_line(room):
    _run(room, ("pool2d", "import numpy as np\nfrom scipy.ndimage import maximum_filter\n"
                          "def pool2d(x):\n    return maximum_filter(x, 2)[::2, ::2]"))  # fmt: skip
    # the whole cell names pool2d; its import line is where it stopped
    _run(room, ("pool2d_too", "from scipy.ndimage import maximum_filter as pool2d"))
    problem = rule_violation(NUMPY_ONLY, ["pool2d"], room.check(["pool2d"]))
    assert problem is not None
    assert problem.startswith("pool2d uses scipy, which this task does not allow: answer cell "
                              "'pool2d_too', line 1 (`from scipy.ndimage import maximum_filter as "
                              "pool2d`)")  # fmt: skip
    assert NUMPY_ONLY.sentence in problem


def test_an_import_inside_a_function_is_refused_with_the_function(room):
    _run(room, ("mean", "def mean(x):\n    import sklearn.metrics\n    return 0"))
    report = room.check(["mean"], "mean([1, 2])")
    problem = rule_violation(NUMPY_ONLY, ["mean"], report)
    assert problem is not None and problem.startswith(
        "mean uses sklearn, which this task does not allow: answer cell 'mean', line 2 "
        "(`import sklearn.metrics`)"
    ), problem


def test_a_name_from_a_forbidden_cell_is_traced_to_that_cell(room):
    _run(
        room,
        ("cell 2", "from cnnwidgets.keras_helpers import quiet_keras\nkeras = quiet_keras()"),
        ("shapes", "shapes = [keras.layers.Dense(4).compute_output_shape((None, 3))]"),
    )
    problem = rule_violation(RULES["by_hand"], ["shapes"], room.check(["shapes"]))
    assert problem is not None
    assert problem.startswith(
        "shapes needs keras, which comes from cell 2, line 1 (`from "
        "cnnwidgets.keras_helpers import quiet_keras`): that uses cnnwidgets"
    )
    assert "answer cell 'shapes', line 1 (`shapes = [keras.layers" in problem  # fmt: skip


def test_a_forbidden_line_costs_that_line_not_the_honest_ones_after_it(room):
    _run(room, ("mixed", "import keras\nconv_rgb = keras.layers.Conv2D(8, 3)\ndense = 7 * 10 + 10"))
    report = room.check(["conv_rgb", "dense"])
    assert not report["names"]["conv_rgb"]["defined"] and report["names"]["dense"]["defined"]
    problem = rule_violation(RULES["by_hand"], ["conv_rgb"], report)
    assert problem is not None and problem.startswith(
        "conv_rgb needs keras, which comes from answer cell 'mixed', line 1 (`import keras`)"
    )
    assert rule_violation(RULES["by_hand"], ["dense"], report) is None


def test_a_scratch_cell_that_compares_with_a_library_is_not_the_answer(room):
    """Checking one's own conv2d against SciPy's is study, not the answer: only a statement
    that was to define the name (or the example call) can break its rule."""
    _run(
        room,
        ("conv2d", "import numpy as np\n"
                   "def conv2d(image, kernel):\n"
                   "    h, w = kernel.shape\n"
                   "    return np.array([[np.sum(image[i:i + h, j:j + w] * kernel)\n"
                   "                      for j in range(image.shape[1] - w + 1)]\n"
                   "                     for i in range(image.shape[0] - h + 1)])"),
        ("scratch", "from scipy.signal import correlate2d\n"
                    "x, k = np.ones((4, 4)), np.eye(2)\n"
                    "assert np.allclose(conv2d(x, k), correlate2d(x, k, mode='valid'))"),
    )  # fmt: skip
    report = room.check(["conv2d"], "import numpy as np; conv2d(np.ones((4, 4)), np.eye(2))")
    assert rule_violation(NUMPY_ONLY, ["conv2d"], report) is None
    # The same library, bound to the answer's name in a later cell, is the answer.
    _run(room, ("again", "conv2d = lambda image, kernel: correlate2d(image, kernel, 'valid')"))
    report = room.check(["conv2d"], "import numpy as np; conv2d(np.ones((4, 4)), np.eye(2))")
    problem = rule_violation(NUMPY_ONLY, ["conv2d"], report)
    assert problem is not None and problem.startswith(
        "conv2d needs correlate2d, which comes from answer cell 'scratch', line 1"
    ), problem


def test_a_wrong_or_missing_answer_is_not_a_rule_matter(room):
    _run(room, ("todo", "raise NotImplementedError()"), ("wrong", "total = 2 + 2"))
    report = room.check(["answer", "total"])
    assert not report["names"]["answer"]["defined"]
    assert rule_violation(RULES["by_hand"], ["answer", "total"], report) is None


def test_cells_past_their_time_are_interrupted_and_the_room_goes_on(room):
    room.run_cell("loop", "x = 1\nwhile True:\n    pass", timeout=0.5)
    report = room.check(["x"])
    assert report["names"]["x"]["defined"]
    assert any(c["id"] == "loop" and c["error"]["type"] == "KeyboardInterrupt"
               for c in report["cells"])  # fmt: skip


def test_a_room_that_dies_says_where():
    site = rooms.local_site(["numpy"], Path(tempfile.mkdtemp(prefix="room-test-")) / "site")
    room = rooms.Room(rooms.command(["numpy"], str(site)), cwd=str(site.parent))
    # NumPy reading far outside an array: the room's process dies of a segmentation fault
    room.run_cell("bye", "import numpy as np\n"
                         "np.lib.stride_tricks.as_strided(np.zeros(1), (10**6,), (10**7,)).sum()",
                  timeout=5)  # fmt: skip
    with pytest.raises(rooms.RoomDead, match="stopped in the cell 'bye'"):
        room.check(["x"])
    assert "stopped in the cell 'bye'" in rule_violation(NUMPY_ONLY, ["x"], {"dead": room.dead})


def test_a_room_that_cannot_start_says_which_process_and_why(tmp_path):
    code = "import sys; sys.stderr.write('Traceback:\\nImportError: a broken runner\\n'); exit(3)"
    room = rooms.Room([sys.executable, "-c", code], log=tmp_path / "room.log")
    with pytest.raises(rooms.RoomDead) as dead:
        room.check(["x"], timeout=30)
    assert str(dead.value) == (
        f"{rooms.RULES_PYTHON} could not start: it exited with status 3. The last lines of its "
        "error output:\n  | Traceback:\n  | ImportError: a broken runner"
    )


def test_forged_reports_are_not_trusted_to_be_well_formed():
    for report in (None, [], {"cells": "x"}, {"cells": [1, {"error": "no"}], "names": []},
                   {"example": {"error": {"module": 5}}}):  # fmt: skip
        assert rule_violation(NUMPY_ONLY, ["a"], report) is None


def test_the_students_own_check_gives_the_graders_message():
    """In a notebook (a kernel of the student's), the same call replays the kernel's cells."""
    from nbclient import NotebookClient

    check = nbformat.v4.new_code_cell(
        "from cnnwidgets.grading import assert_follows_rule\n"
        "assert_follows_rule('numpy_only', 'conv2d', "
        "example='import numpy as np; conv2d(np.ones((4, 4)), np.eye(2))')"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell(
            "from scipy.signal import correlate2d\n\n"
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    return correlate2d(image, kernel, mode='valid')"
        ),
        nbformat.v4.new_code_cell("conv2d(np.ones((3, 3)), np.ones((2, 2)))  # works here"),
        check,
        # Mended, and checked again: the earlier check cell (which imports from the kit)
        # is not replayed under the rule, as the grader's room never runs test cells.
        nbformat.v4.new_code_cell(
            "def conv2d(image, kernel, strides=1, padding='valid'):\n"
            "    h, w = np.shape(kernel)\n"
            "    return np.array([[np.sum(image[i:i + h, j:j + w] * kernel)\n"
            "                      for j in range(image.shape[1] - w + 1)]\n"
            "                     for i in range(image.shape[0] - h + 1)])"
        ),
        nbformat.v4.new_code_cell(check.source),
    ]
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["RuleViolation"], errors
    assert errors[0].evalue.startswith(
        "conv2d needs correlate2d, which comes from the cell In [2], line 1 (`from scipy.signal "
        "import correlate2d`): that uses scipy, which this task does not allow"
    ), errors[0].evalue


def test_a_failed_statement_answers_only_for_names_defined_nowhere_after_it(room):
    """A forbidden line in another task's cell (the kit's metrics fetched by a built name for
    confusion_matrix) costs that task only: an answer defined after it, which runs, keeps its
    points. What counts for a name is the last statement that bound it, or was to bind it."""
    _run(
        room,
        ("confusion_matrix",
         "_kit = __import__('cnnwidgets.core.metrics', fromlist=['x'])\n"
         "def confusion_matrix(y_true, y_pred, n):\n"
         "    return getattr(_kit, 'confusion_' + 'matrix')(y_true, y_pred, num_classes=n)"),
        ("macro_f1",
         "import numpy as np\ndef macro_f1(cm):\n    return float(np.mean(np.diag(cm)))"),
        ("scratch", "exec('from sklearn.metrics import f1_score')"),
    )  # fmt: skip
    report = room.check(["macro_f1"], "import numpy as np; macro_f1(np.eye(2))")
    assert rule_violation(NUMPY_ONLY, ["macro_f1"], report) is None
    report = room.check(["confusion_matrix"], "confusion_matrix([0, 1], [1, 1], 2)")
    problem = rule_violation(NUMPY_ONLY, ["confusion_matrix"], report)
    assert problem is not None and problem.startswith(
        "confusion_matrix uses getattr() with a name computed at run time, which this task does "
        "not allow: answer cell 'confusion_matrix', line 3"
    ), problem
    assert "was not run. An answer under a rule is plain Python and NumPy" in problem
    # Code built at run time may bind anything: after the answer, it answers for it.
    _run(room, ("later", "exec('from sklearn.metrics import f1_score as ' + 'macro_f1')"))
    report = room.check(["macro_f1"], "import numpy as np; macro_f1(np.eye(2))")
    problem = rule_violation(NUMPY_ONLY, ["macro_f1"], report)
    assert problem is not None and "macro_f1 uses exec()" in problem, problem
    # ...and an honest definition after that is the answer again.
    _run(room, ("mended", "def macro_f1(cm):\n    return float(np.mean(np.diag(cm)))"))
    report = room.check(["macro_f1"], "import numpy as np; macro_f1(np.eye(2))")
    assert rule_violation(NUMPY_ONLY, ["macro_f1"], report) is None


def test_a_table_filled_by_a_forbidden_statement_is_traced_to_it(room):
    """The answer is defined and runs, but reads a table that a forbidden line was to fill:
    the example's KeyError is traced to that line."""
    _run(
        room,
        ("pool2d", "_tools = {}\n"
                   "exec('from cnn' + 'widgets.core import pool2d as _p; _tools[\"pool\"] = _p')\n"
                   "def pool2d(x, pool_size=2):\n    return _tools['pool'](x, pool_size)"),
    )  # fmt: skip
    report = room.check(["pool2d"], "import numpy as np; pool2d(np.ones((4, 4)))")
    assert "_tools" in report["names"]["pool2d"]["uses"]
    problem = rule_violation(NUMPY_ONLY, ["pool2d"], report)
    assert problem is not None and problem.startswith(
        "pool2d needs _tools, which was to be set by answer cell 'pool2d', line 2"
    ), problem
    assert "that uses exec(), which this task does not allow" in problem


# --- what a room refuses to run: code carried in, reaches outside, copies ------------------

_REFUSED = {
    # code carried in as data
    "exec('from notes import conv2d')": "exec()",
    "f = eval('lambda x: x')": "eval()",
    "code = compile('x = 1', 'x', 'exec')": "compile()",
    "__import__('numpy')": "__import__",
    "import importlib": "importlib",
    "import base64, zlib": "base64",
    "from marshal import loads": "marshal",
    "import pickle": "pickle",
    "np.load('weights.npy', allow_pickle=True)": ".load",
    "a = np.lib.format.read_array(f)": ".read_array",
    "data = 'x' * 10 + '" + "A" * 3000 + "'": "a literal of 3,000 characters",
    # a reach outside the room, or into its machinery
    "import os": "os",
    "import fcntl": "fcntl",
    "import sys": "sys",
    "import signal": "signal",
    "f = open('/etc/passwd')": "open()",
    "k = object.__subclasses__()": ".__subclasses__",
    "g = conv2d.__globals__": ".__globals__",
    "b = __builtins__": "__builtins__",
    "h = getattr(np, 'lo' + 'ad')": "getattr() with a name computed at run time",
    "h = getattr(conv2d, '__code__')": "getattr() of '__code__'",
    "from operator import attrgetter": "operator.attrgetter",
    "frame = gen.gi_frame.f_back": ".f_back",
    "m = np.core.numeric.builtins": ".builtins",
    "import numpy.ctypeslib": "numpy.ctypeslib",
    "from numpy import f2py": "numpy.f2py",
    "v = vars(np)": "vars()",
    "names = list(map(getattr, [conv2d], ['x']))": "getattr passed as a value",
    "f = getattr(frame, 'f_back')": "getattr() of 'f_back'",
    "f = getattr(np, 'max' if a else '__loader__')": "getattr() of '__loader__'",
    # a fourth reviewer's: attributes read by a match statement, names bound by a star import
    "match f:\n    case object(__globals__=g): pass": "a class pattern reading .__globals__",
    "match b:\n    case object(exec=run):\n        pass": "a class pattern reading .exec",
    "match g:\n    case {Keys.b: tools}:\n        pass": "a mapping pattern whose key is looked up",
    "from operator import *": "from operator import *",
    "from numpy import *": "from numpy import *",
    "get = attrgetter('x')": "attrgetter()",
    # eval() inside the library: an annotation written as text runs when its hints are read
    "import typing": "typing",
    "from dataclasses import make_dataclass": "dataclasses",
}
# Modules the room may import hold others it may not, under names of their own.
_BY_ANOTHER_NAME = {
    "import collections\nframe = collections._sys._getframe()": "._sys",
    "import enum\nrun = enum.bltns.exec": ".bltns",
    "import random\nrandom._os.system('true')": "._os",
}


@pytest.mark.parametrize("source", list(_BY_ANOTHER_NAME))
def test_a_room_refuses_modules_reached_through_others(source):
    import ast

    attrs = rooms.module_attributes(["numpy"])
    found = [rooms.refusal(node, ["numpy"], (), attrs) for node in ast.parse(source).body]
    assert found[0] is None and found[-1] is not None, found
    assert found[-1][0] == _BY_ANOTHER_NAME[source]


@pytest.mark.parametrize("source", list(_REFUSED))
def test_a_room_refuses_code_carried_in_and_reaches_outside(source):
    import ast

    node = ast.parse(source).body[0]
    found = rooms.refusal(node, ["numpy"])
    assert found is not None and found[0] == _REFUSED[source], found


@pytest.mark.parametrize(
    "source",
    [
        "import numpy as np",
        "from numpy.lib.stride_tricks import sliding_window_view",
        "import math, itertools, functools, collections",
        "from functools import partial",
        "pick = getattr(np, 'max')",
        "class Pool:\n    def __init__(self, size):\n        self.size = size\n"
        "    def __call__(self, x):\n        return np.max(x)",
        "def windows(x, k):\n    for i in range(len(x) - k + 1):\n        yield x[i:i + k]",
        "print(f'{conv2d.__name__}: {np.shape(out)}')",
        "table = {'max': np.max, 'avg': np.mean}",
        # the fourth reviewer's honest answers that an earlier check refused
        "reduce = getattr(np, 'max' if mode == 'max' else 'mean')",
        "input = np.asarray(x)\nout = input.sum()",
        "from math import *",
        'def f(x):\n    """' + "A long explanation. " * 150 + '"""\n    return x',
        "match mode:\n    case 'max':\n        f = np.max\n    case _:\n        f = np.mean",
        "match shape:\n    case (h, w):\n        pass\n    case {'h': h}:\n        pass",
    ],
)
def test_a_room_runs_plain_python_and_numpy(source):
    import ast

    for node in ast.parse(source).body:
        assert rooms.refusal(node, ["numpy"]) is None, source


def test_a_copy_of_the_kits_code_is_refused_however_renamed_and_padded():
    import ast
    import inspect

    import cnnwidgets.core.conv as conv

    prints = [(n, frozenset(p)) for n, p in rooms.forbidden_prints()]
    tree = ast.parse(inspect.getsource(conv.conv2d).replace("conv2d", "my_conv"))
    function = tree.body[0]
    function.body = [  # a line of junk after every statement, the docstring gone
        line for i, statement in enumerate(function.body[1:])
        for line in (statement, ast.parse(f"_unused_{i} = {i} * 3").body[0])
    ]  # fmt: skip
    found = rooms.refusal(function, ["numpy"], prints)
    assert found is not None and found[0].startswith(
        "code copied from cnnwidgets.core.conv.conv2d ("
    ), found


@pytest.mark.parametrize("name", ["conv2d", "pool2d", "confusion_matrix", "classification_metrics"])
def test_a_copy_padded_with_dead_library_code_is_refused(name):
    """A fourth reviewer's disguise: the copy inside ``if not True:`` padding (unrelated code
    two and a half times its size) is under half alike as a whole, but all of it is there."""
    import ast

    import cnnwidgets.core as core

    prints = [(n, frozenset(p)) for n, p in rooms.forbidden_prints()]
    function = ast.parse(_redteam.padded(getattr(core, name), "mine")).body[0]
    found = rooms.refusal(function, ["numpy"], prints)
    assert found is not None and found[0].startswith("code copied from cnnwidgets.core."), found
    assert "% of it in this function)" in found[0], found


@pytest.mark.parametrize("name", ["conv2d", "pool2d", "confusion_matrix", "classification_metrics"])
def test_a_copy_cut_into_one_line_helpers_is_refused_as_a_cell(name):
    import cnnwidgets.core as core

    prints = [(n, frozenset(p)) for n, p in rooms.forbidden_prints()]
    statements = [(n, frozenset(p)) for n, p in rooms.forbidden_prints(True)]
    cell = rooms._statements(_redteam.split_up(getattr(core, name), "mine"), "<cell>")
    found = rooms._cell_copy(cell, prints, statements)
    assert found is not None and found[0].startswith("code copied from cnnwidgets.core."), found


@pytest.mark.parametrize("how", sorted(_redteam.WRAPPERS))
@pytest.mark.parametrize("name", ["conv2d", "pool2d", "confusion_matrix", "classification_metrics"])
def test_a_copy_with_every_name_passed_through_a_helper_is_refused(room, name, how):
    """A fifth reviewer's disguise (``_i(x)`` around every name read: under half of any
    forbidden function's runs left), a sixth's (the helper behind a keyword, in a class or a
    list, through a copy or a same-branch choice; operators spelled as operator's functions
    and attributes read through getattr) and ours: peeled off before shapes are compared,
    in the cell that defines the helper or a later one."""
    import cnnwidgets.core as core

    helper, copy = _redteam.wrapped(getattr(core, name), "mine", how).split("\n\n\n", 1)
    prints = [(n, frozenset(p)) for n, p in rooms.forbidden_prints()]
    statements = [(n, frozenset(p)) for n, p in rooms.forbidden_prints(True)]
    raw = rooms._statements(helper + "\n\n\n" + copy, "<cell>")
    assert rooms._cell_copy(raw, prints, statements) is None  # the disguise works unpeeled
    _run(room, ("helper", "import numpy as np\n" + helper), ("copy", copy))
    report = room.check(["mine"], "")
    assert not report["names"]["mine"]["defined"], report
    refused = [c["error"] for c in report["cells"] if c["error"]]
    assert refused and "it uses code copied from cnnwidgets.core." in refused[-1]["message"], (
        refused
    )


@pytest.mark.parametrize(
    "line",
    [
        "_read = np.lib._datasource._open",  # a fifth reviewer's: io.open under another name
        "text = np.loadtxt('/proc/self/status', dtype=str)",
        "rows = np.genfromtxt('/etc/hostname', dtype=str)",
    ],
)
def test_numpys_file_readers_are_refused(line):
    import ast

    found = rooms.refusal(ast.parse(line).body[0], ["numpy"])
    assert found is not None and found[0] in ("._open", ".loadtxt", ".genfromtxt"), found


def test_peeling_leaves_honest_calls_alone():
    """Only helpers that hand back an argument as it is are peeled: a function of one
    argument that computes something stays a call."""
    import ast

    helpers = rooms._wrappers([ast.parse("def half(v):\n    return v / 2\nkeep = lambda v: v")], {})
    assert helpers == {"keep": ("identity", 0)}
    (peeled,), _ = rooms._peeled([ast.parse("y = half(keep(x)) + (z,)[0]")], helpers)
    assert ast.unparse(peeled) == "y = half(x) + z"


def test_the_room_runs_without_exec_and_imports_only_what_the_rule_allows():
    """Should a path to a built-in slip past the syntax check, there is nothing at its end."""
    table = rooms._room_builtins(["numpy"])
    for name in ("exec", "eval", "compile", "open", "input", "breakpoint", "globals", "vars"):
        assert name not in table, name
    assert table["__import__"]("math").sqrt(4) == 2
    with pytest.raises(ImportError, match="os is not allowed under this task's rule"):
        table["__import__"]("os")
    with pytest.raises(ImportError, match="cnnwidgets.core is not allowed"):
        table["__import__"]("cnnwidgets.core", fromlist=["conv2d"])


def test_the_kits_own_solutions_are_no_copies():
    """Every answer of the solutions under a rule runs in its room (and is far from a copy)."""
    import ast

    from tests.instructor._samples_a3 import solution_answers

    prints = [(n, frozenset(p)) for n, p in rooms.forbidden_prints()]
    statements = [(n, frozenset(p)) for n, p in rooms.forbidden_prints(True)]
    for assignment in ("a1_convolution", "a2_shapes_and_parameters", "a4_metrics", "a6_faces"):
        for grade_id, source in solution_answers(assignment).items():
            for node in ast.parse(source).body:
                assert rooms.refusal(node, ["numpy"], prints) is None, (assignment, grade_id)
            cell = rooms._statements(source, "<cell>")
            assert rooms._cell_copy(cell, prints, statements) is None, (assignment, grade_id)
            peeled, _ = rooms._peeled([node for _, node, _ in cell], {})
            shapes = [("", node, None) for node in peeled]
            assert rooms._cell_copy(shapes, prints, statements) is None, (assignment, grade_id)


@pytest.mark.parametrize(
    "how",
    [
        "np.testing.runstring(_TEXT, _found)",  # NumPy's test helpers run text with exec
        "np.testing.measure(_TEXT)",
        "import typing\ntyping.get_type_hints(len)",  # not imported: refused before it runs
    ],
)
def test_a_library_that_runs_text_finds_exec_refused(room, how):
    """Python's exec and eval refuse while the student's code runs, for whoever
    calls them: the syntax check cannot see a library's own."""
    text = "def conv2d(image, kernel):\n    return image  # a library's code, carried as text"
    _run(room, ("carried", f"import numpy as np\n_TEXT = {text!r}\n_found = {{}}\n{how}\n"
                           "carried_conv = _found['conv2d']"))  # fmt: skip
    report = room.check(["carried_conv"], "")
    assert not report["names"]["carried_conv"]["defined"]
    refused = [c["error"] for c in report["cells"] if c["error"].get("refused")]
    refused = [
        e
        for e in refused
        if e["module"].startswith(
            ("exec() through a library (numpy", "compile() through a library (numpy", "typing")
        )
    ]
    assert refused, report
    if refused[-1]["module"] != "typing":
        assert refused[-1]["line"] == how, refused


def test_a_namespace_that_takes_collections_name_gets_no_exec(room):
    """Only collections itself may run its text: code that renames its own module to look
    like it is still refused."""
    source = "__name__ = 'collections'\n_found = {}\nnp.testing.runstring('x = 1', _found)\n"
    _run(room, ("spoof", source + "spoofed = _found['x']"))
    report = room.check(["spoofed"], "")
    refused = [c["error"] for c in report["cells"] if c["error"].get("refused")]
    assert any(e["module"].startswith("exec() through a library (numpy") for e in refused), report
    assert not report["names"]["spoofed"]["defined"]


def test_libraries_that_write_their_own_code_still_work(room):
    """namedtuple and dataclasses run text they write from checked identifiers (modules that
    NumPy imports on first use make namedtuples): they keep working under the guard."""
    _run(
        room,
        ("point", "import collections\nPoint = collections.namedtuple('Point', 'x y')"),
        ("conv2d", "def conv2d(image, kernel):\n    return np.full((2, 2), Point(1, 2).y)"),
    )
    report = room.check(["conv2d"], "import numpy as np; assert conv2d(1, 2)[0, 0] == 2")
    assert report["example"]["error"] is None, report
    assert rule_violation(NUMPY_ONLY, ["conv2d"], report) is None


def test_a_table_filled_by_a_refused_line_of_the_answers_cell_is_named(room):
    """The answer reads a table that a refused statement of its own cell was to fill, through
    names of its own (a match statement reaching exec): the refusal is the cause named."""
    source = (
        "_table = {}\n"
        "match np:\n    case object(__loader__=_loader):\n        pass\n"
        "def table_conv(image, kernel):\n    return _table['conv2d'](image, kernel)"
    )
    _run(room, ("table_conv", source))
    report = room.check(["table_conv"], "import numpy as np; table_conv(np.ones((3, 3)), 1)")
    problem = rule_violation(NUMPY_ONLY, ["table_conv"], report)
    assert problem is not None and problem.startswith(
        "table_conv uses a class pattern reading .__loader__, which this task does not allow: "
        "answer cell 'table_conv', line 3"
    ), problem
    assert "stops with KeyError" in problem, problem


def test_a_refused_line_is_named_and_the_room_goes_on(room):
    _run(room, ("relay", "import fcntl\nimport numpy as np\ndef conv2d(image, kernel):\n"
                         "    return fcntl.ioctl(0, 0)"))  # fmt: skip
    report = room.check(["conv2d"], "import numpy as np; conv2d(np.ones((3, 3)), np.eye(2))")
    problem = rule_violation(NUMPY_ONLY, ["conv2d"], report)
    assert problem is not None and problem.startswith(
        "conv2d needs fcntl, which comes from answer cell 'relay', line 1 (`import fcntl`): that "
        "uses fcntl, which this task does not allow"
    ), problem

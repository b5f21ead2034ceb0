"""Disguises written by a second reviewer who tried to beat the grader, not by the defences' author.

Each defeated a first version of the rules (before a room's answers were read as data only,
and before kernels were stopped while a room answers); they stay in the corpus, as written,
to keep them defeated.
"""

from pathlib import Path

# The room's own answer rewritten: its codec replaced, so that it names the kit's function
# ("import cnnwidgets conv2d") for the verifier to import, instead of computing anything.
CODEC_PATCH_CONV = """
import numpy as np

def conv2d(image, kernel, strides=1, padding="valid"):
    return np.zeros((1, 1))          # no real work at all

def _swap_codec():
    import sys, gc
    codec = None
    f = sys._getframe()
    while f is not None:                     # the room's _main() holds `runner`
        r = f.f_locals.get("runner")
        if r is not None and getattr(r, "codec", None) is not None:
            codec = r.codec
        f = f.f_back
    if codec is None:
        for o in gc.get_objects():
            if type(o).__name__ == "module" and getattr(o, "__name__", "") == "_cnnkit_bridge":
                codec = o
    if codec is None or getattr(codec, "_swapped", False):
        return
    real = codec.encode
    def encode(value, *a, **k):
        name = getattr(value, "__name__", None)
        if callable(value) and name in ("conv2d", "pool2d"):
            return ["import", "cnnwidgets", name]   # the verifier imports its own reference
        return real(value, *a, **k)
    codec.encode = encode
    codec._swapped = True

_swap_codec()
"""

CODEC_PATCH_POOL = """
import numpy as np
def pool2d(x, pool_size=2, strides=None, mode="max"):
    return np.zeros((1, 1))
"""

# A covert channel through byte-range locks on a file both sandboxes can read: the kernel
# (where cnnwidgets imports) answers the room's calls in a thread.
LOCK_CHANNEL = """
import numpy as np
import fcntl as _f, os as _os, struct as _st, pickle as _pk, threading as _th, time as _tm

_SALT = 7 << 30                       # pick your own number
_FILE = "/usr/share/common-licenses/GPL-3"   # any file both sides can read
_REQ, _RESP, _SREQ, _SRESP = [(_SALT + (i << 36)) for i in (1, 2, 3, 4)]
_fd = _os.open(_FILE, _os.O_RDONLY)
_SPAN = 1 << 35

def _set(off, n, kind):
    _f.fcntl(_fd, _f.F_SETLK, _st.pack("hhqqi", kind, 0, off, n, 0))

def _put(base, data):
    _set(base, _SPAN, _f.F_UNLCK)
    _set(base, 1, _f.F_RDLCK)          # the length's anchor
    for i, b in enumerate(_st.pack("<q", len(data)) + data):
        _set(base + 1 + 256 * i + b, 1, _f.F_RDLCK)

def _first(base, n=0):
    r = _f.fcntl(_fd, _f.F_GETLK, _st.pack("hhqqi", _f.F_WRLCK, 0, base, n, 0))
    t, w, s, l, pid = _st.unpack("hhqqi", r)
    return None if t == _f.F_UNLCK else (s, l)

def _get(base):
    p, marks = base + 1, []
    end = base + _SPAN
    while True:
        hit = _first(p, end - p)
        if hit is None:
            break
        s, l = hit
        marks.extend(range(s, s + (l if l > 0 else 1)))
        p = s + (l if l > 0 else 1)
    data = bytes((m - base - 1) % 256 for m in sorted(marks))
    n = _st.unpack("<q", data[:8])[0]
    return data[8:8 + n]

def _mark(base, k):
    _set(base, _SPAN, _f.F_UNLCK)
    _set(base + k, 1, _f.F_RDLCK)

def _seen(base):
    hit = _first(base, _SPAN)
    return None if hit is None else hit[0] - base

try:                                   # the student's kernel: everything is here
    import cnnwidgets as _cw
    import cnnwidgets.core.metrics as _cwm
    _KERNEL = True
except ImportError:                    # the rule's room
    _KERNEL = False

def _serve():
    last = None
    while True:
        k = _seen(_SREQ)
        if k is not None and k != last:
            try:
                name, args, kwargs = _pk.loads(_get(_REQ))
                fn = getattr(_cw, name, None) or getattr(_cwm, name)
                result = ("ok", fn(*args, **kwargs))
            except Exception as exc:
                result = ("err", repr(exc))
            _put(_RESP, _pk.dumps(result))
            _mark(_SRESP, k)
            last = k
        else:
            _tm.sleep(0.001)

if _KERNEL and not globals().get("_SERVING"):
    _SERVING = True
    _th.Thread(target=_serve, daemon=True).start()

_count = [int(_tm.time() * 1000) % 1000000 * 10]

def _remote(name, *args, **kwargs):
    _count[0] += 1
    k = _count[0]
    _put(_REQ, _pk.dumps((name, args, kwargs)))
    _mark(_SREQ, k)
    deadline = _tm.monotonic() + 20
    while _seen(_SRESP) != k:
        if _tm.monotonic() > deadline:
            raise TimeoutError("no answer")
        _tm.sleep(0.0005)
    status, value = _pk.loads(_get(_RESP))
    if status != "ok":
        raise ValueError(value)
    return value
"""

LOCK_CHANNEL_CONV = """
if _KERNEL:
    conv2d = _cw.conv2d
else:
    def conv2d(image, kernel, strides=1, padding="valid"):
        return _remote("conv2d", image, kernel, strides=strides, padding=padding)
"""

LOCK_CHANNEL_POOL = """
def pool2d(x, pool_size=2, strides=None, mode="max"):
    if _KERNEL:
        return _cw.pool2d(x, pool_size=pool_size, strides=strides, mode=mode)
    return _remote("pool2d", x, pool_size=pool_size, strides=strides, mode=mode)
"""


# --- a third reviewer's disguises (issue: grades a teacher can trust) -----------------------
# Their cells, as handed in, are in redteam/<assignment>_<attack>.<grade id>.cell:
#   relay2    the kernel, stopped while the room answers, has the OS wake it (dnotify on a
#             folder both can read, SIGCONT) and answers through record locks on os.py;
#   vendored  the kit's own modules carried in the notebook as a compressed literal and
#             imported from memory under another name;
#   rescale_lists, constant_scalars  a classifier fitted on every image, held-out ones too,
#             whose weights travel in layer settings (Rescaling lists, scalar Constants).

REDTEAM = Path(__file__).with_name("redteam")


def cells(assignment: str, attack: str) -> dict[str, str]:
    """grade id -> the answer cell of one of the third reviewer's attacks."""
    prefix = f"{assignment.split('_')[0]}_{attack}."
    return {
        path.name[len(prefix) : -len(".cell")]: path.read_text()
        for path in sorted(REDTEAM.glob(f"{prefix}*.cell"))
    }


def copied(function, new_name: str) -> str:
    """``function``'s source renamed, its docstring gone and a junk line after every
    statement: a copy of the kit made to look like one's own."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    node.name = new_name
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    node.body = [
        line for i, statement in enumerate(body)
        for line in (statement, ast.parse(f"_step_{i} = {i} + 1").body[0])
    ]  # fmt: skip
    return ast.unparse(tree)


# The answers are read from a file the kernel wrote with the kit (np.load of a pickle).
NPY_RELAY_CONV = """
import numpy as np


def conv2d(image, kernel, strides=1, padding="valid"):
    table = np.load("/tmp/.answers.npy", allow_pickle=True).item()
    return table[(np.asarray(image).tobytes(), np.asarray(kernel).tobytes(), strides, padding)]
"""


# --- a fourth reviewer's (a second pass at the room, after the third's were defeated) ---------
#   reach   the kit's modules carried as short string literals and run with exec, reached
#           without writing a refused name: a match statement's class pattern reads
#           __globals__ and exec, or operator's attrgetter comes in with `from operator import *`;
#   padded  the kit's modules copied, each function with a block of unrelated library code
#           that never runs inside it, so that the copy is under half alike as a whole
#           (padded() and split_up() below make more such copies from the kit as it is now);
#   bool_masks  a classifier fitted on every image, its weights as lists of booleans in
#           Rescaling layers (Keras casts them to 0.0 and 1.0).


def padded(function, new_name: str) -> str:
    """``function``'s source renamed, its docstring gone, with an ``if not True:`` block of
    three functions of the standard library (json's string scanner, textwrap.dedent and
    urllib's urlsplit, 2.5 times its size) at the top of its body."""
    import ast
    import inspect
    import json.decoder
    import textwrap
    import urllib.parse

    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    node.name = new_name
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    dead = ast.parse("if not True:\n    pass").body[0]
    dead.body = [
        ast.parse(textwrap.dedent(inspect.getsource(f))).body[0]
        for f in (json.decoder.py_scanstring, textwrap.dedent, urllib.parse.urlsplit)
    ]
    node.body = [dead, *body]
    return ast.unparse(tree)


def split_up(function, new_name: str) -> str:
    """``function`` cut into helpers of one statement each, too short to compare one by one,
    and a function that calls them in turn (each sees the last's variables)."""
    import ast
    import inspect
    import textwrap

    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    parts = []
    for i, statement in enumerate(body):
        helper = ast.parse(f"def _part_{i}(state):\n    pass").body[0]
        helper.body = [statement]
        parts.append(ast.unparse(helper))
    calls = "\n".join(f"    state = _part_{i}(state) or state" for i in range(len(body)))
    return "\n\n".join([*parts, f"def {new_name}(*args, **kwargs):\n    state = {{}}\n{calls}"])


# Pass-through helpers a copy can route every name through (a fifth reviewer's was ``_i``, a
# sixth's kept it in a class, a list, behind a keyword or a copy): the kit's code, each name
# read passed through one, so that its syntax changes everywhere while what it does stays.
# how -> (the helper's code, how a call names it, the keyword it takes the value by).
WRAPPERS = {
    "identity": ("def _seen(value):\n    return value", "_seen", None),
    "boxed": ("_seen = lambda value: [value][0]", "_seen", None),
    "applied": (
        "def _call(f, *args):\n    return f(*args)\n\n\ndef _seen(value):\n    return (value,)[0]",
        "_seen",
        None,
    ),
    "keyword": ("def _seen(value):\n    kept = value\n    return kept", "_seen", "value"),
    "in_class": (
        "class _Seen:\n    see = staticmethod(lambda value: value if True else value)",
        "_Seen.see",
        None,
    ),
    "in_list": ("_SEEN = [lambda value: value]", "_SEEN[0]", None),
    # after the sixth review, ours: arguments gathered, a factory, a partial
    "gathered": ("_seen = lambda *values: values[0]", "_seen", None),
    "made": ("def _make():\n    return lambda value: value\n\n\n_seen = _make()", "_seen", None),
    "partial": (
        "import functools\n\n\ndef _same(value):\n    return value\n\n\n"
        "_seen = functools.partial(_same)",
        "_seen",
        None,
    ),
    "spelled": ("import operator as _op", None, None),
}


def wrapped(function, new_name: str, how: str = "identity") -> str:
    """``function``'s source renamed, its docstring gone, every name it reads passed through
    a helper of :data:`WRAPPERS` (``applied``: every call made through ``_call`` too;
    ``spelled``: no helper, but every operator written as operator's function and every
    attribute read through getattr)."""
    import ast
    import inspect
    import textwrap

    header, callee, keyword = WRAPPERS[how]
    ops = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv",
           ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow"}  # fmt: skip
    compare = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt",
               ast.GtE: "ge"}  # fmt: skip

    def call(name, *args):
        return ast.Call(ast.parse(name, mode="eval").body, list(args), [])

    class Wrap(ast.NodeTransformer):
        def visit_Name(self, node):
            if callee is None or not isinstance(node.ctx, ast.Load):
                return node
            if keyword:
                return ast.Call(ast.Name(callee, ast.Load()), [], [ast.keyword(keyword, node)])
            return call(callee, node)

        def visit_BinOp(self, node):
            self.generic_visit(node)
            if how == "spelled" and type(node.op) in ops:
                return call(f"_op.{ops[type(node.op)]}", node.left, node.right)
            return node

        def visit_Compare(self, node):
            self.generic_visit(node)
            if how == "spelled" and len(node.ops) == 1 and type(node.ops[0]) in compare:
                return call(f"_op.{compare[type(node.ops[0])]}", node.left, node.comparators[0])
            return node

        def visit_Attribute(self, node):
            self.generic_visit(node)
            if how == "spelled" and isinstance(node.ctx, ast.Load):
                return call("getattr", node.value, ast.Constant(node.attr))
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            if how == "applied":
                return ast.Call(ast.Name("_call", ast.Load()), [node.func, *node.args],
                                node.keywords)  # fmt: skip
            return node

    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    node.name = new_name
    node.body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    node = ast.fix_missing_locations(Wrap().visit(node))
    return header + "\n\n\n" + ast.unparse(node)

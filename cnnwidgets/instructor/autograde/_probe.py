"""What a Dask worker can grade with, asked before any submission is sent to it.

Standard library only: :func:`probe` travels to the worker by value (cloudpickle), so it
answers even where the kit is not installed, which is one of the things it finds out.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys


def kit_fingerprint() -> str | None:
    """SHA-256 of the kit's Python files as installed here (``None``: the kit is not)."""
    spec = importlib.util.find_spec("cnnwidgets")
    if spec is None or not spec.submodule_search_locations:
        return None
    top = list(spec.submodule_search_locations)[0]
    digest = hashlib.sha256()
    found = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.join(folder, f) for f in files if f.endswith(".py")]
    for path in sorted(found):
        digest.update(os.path.relpath(path, top).encode() + b"\0")
        with open(path, "rb") as fh:
            digest.update(hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()


def kit_version() -> str | None:
    """The installed kit's version (``None``: not installed as a distribution)."""
    from importlib import metadata

    try:
        return metadata.version("cnnwidgets")
    except metadata.PackageNotFoundError:
        return None


def probe(sandbox: bool) -> dict:
    """This worker's Python, its kit, and why it cannot make the grading sandbox (if it
    cannot and ``sandbox`` is asked for)."""
    answer = {"python": sys.version.split()[0], "kit": kit_fingerprint(), "sandbox": None}
    answer["version"] = kit_version()
    if answer["kit"] is not None and sandbox:
        try:
            from cnnwidgets.instructor.isolation.sandbox import availability

            answer["sandbox"] = availability()
        except Exception as exc:  # a kit that does not import is no kit to grade with
            answer["kit"] = None
            answer["error"] = f"{type(exc).__name__}: {exc}"
    return answer

"""What running test cells in the verifier costs: each solution executed both ways.

Each assignment's solution notebook is executed by the grader's ``VerifiedExecute``
(in the sandbox when there is one), once with graded test cells run in the
verifier (what `cnnkit grade` does) and once in the student's kernel, as nbgrader
does by default. Both must pass the same tests; the figures are wall-clock seconds
of one run each, and their ratio.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("a1_convolution", "a2_shapes_and_parameters", "a3_digit_classifier",
               "a7_inside_the_network")  # fmt: skip


def _execute(path: Path, verify: bool, manager: str) -> tuple[float, list[str]]:
    from cnnwidgets.instructor.autograde.execute import VerifiedExecute

    nb = nbformat.read(path, as_version=4)
    client = VerifiedExecute(timeout=300, verify_tests=verify, kernel_manager_class=manager)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        nb, _ = client.preprocess(nb, {"metadata": {"path": folder}})
        seconds = time.perf_counter() - start
    failed = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("grade")
        and any(o.output_type == "error" for o in c.outputs)
    ]
    return seconds, failed


def run():
    from cnnwidgets.instructor.isolation.sandbox import availability

    sandboxed = availability() is None
    manager = "cnnwidgets.instructor.isolation." + (
        "sandbox.SandboxKernelManager" if sandboxed else "kernels.SocketKernelManager"
    )
    yield f"  kernels {'in the sandbox' if sandboxed else 'unsandboxed (no bubblewrap here)'}"
    total = {True: 0.0, False: 0.0}
    for name in ASSIGNMENTS:
        path = REPO / "solutions" / name / f"{name}.ipynb"
        verified, failed_v = _execute(path, True, manager)
        in_kernel, failed_k = _execute(path, False, manager)
        total[True] += verified
        total[False] += in_kernel
        note = "" if failed_v == failed_k == [] else f"   FAILED: {failed_v} / {failed_k}"
        yield (
            f"  {name:<26} verifier {verified:6.1f} s   in the kernel {in_kernel:6.1f} s   "
            f"ratio {verified / in_kernel:4.2f}{note}"
        )
    yield (
        f"  {'all':<26} verifier {total[True]:6.1f} s   in the kernel {total[False]:6.1f} s   "
        f"ratio {total[True] / total[False]:4.2f}"
    )

"""`make bench`: run every benchmarks/bench_*.py and print its figures."""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    failed = 0
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            for row in importlib.import_module(f"benchmarks.{name}").run():
                print(row, flush=True)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            failed += 1
            print(f"  FAILED: {type(err).__name__}: {err}", flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s)\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

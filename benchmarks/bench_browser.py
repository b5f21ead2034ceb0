"""Widget latency in a real browser: from a control change to the updated pixels or text.

JupyterLab (the kit's .venv) serves a scratch notebook with the widgets; Debian's
Chromium, driven by Playwright, changes a control 30 times per widget. Each change
is timed in the page, from the control's change event until the new picture is
decoded (or the new text is in the page) and the next frame is painted. Kernel
messages are timed as the page receives them, which splits the total into:

  out      change event -> the kernel's "busy" status arrives (request to the kernel, and back)
  kernel   "busy" -> the message that redraws the view arrives (recompute, encode, send)
  render   that message -> painted (decode the PNG, lay out, paint)

and the same trait change timed inside one Python process gives recompute + encode
with no transfer at all.

The machine may be shared: the cases take turns for CNN_BENCH_ROUNDS rounds (default 3)
of 30 changes each, so a busy spell falls on all of them; each round's median and the
load average are printed beside the pooled median and p95. CNN_BENCH_KIT=/other/checkout
measures that checkout's widgets in the same Lab and browser (for before/after tables).
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
from pathlib import Path

from ._timing import line, repeat, summary

REPO = Path(__file__).resolve().parents[1]
CHANGES = 30
WARMUP = 3
ROUNDS = int(os.environ.get("CNN_BENCH_ROUNDS", "3"))
KIT = os.environ.get("CNN_BENCH_KIT")  # another checkout's cnnwidgets, for a before/after

# (label, cell code, what to change, target median in ms)
CASES = [
    (
        "KernelPlayground kernel edit 224x224 colour",
        'KernelPlayground(photo="astronaut", size=224)',
        "kernel",
        33,
    ),
    (
        "KernelPlayground kernel edit 512x512 colour",
        'KernelPlayground(photo="astronaut", size=512)',
        "kernel",
        60,
    ),
    ("ConvCalculator input size edit", "ConvCalculator()", "calculator", 33),
]

_MEASURE = r"""
async ({path, cell, kind, n, warmup}) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const panel = window.__e2e.panelOf(path);
  const kernel = panel.sessionContext.session.kernel;
  const node = panel.content.widgets[cell].node;
  let target, input, values, watch;
  if (kind === 'kernel') {
    target = node.querySelectorAll('img.widget-image')[1];  // the output picture
    input = node.querySelectorAll('.widget-gridbox .widget-text input')[4];  // centre cell
    values = ['4.5', '5'];  // the sharpen preset's centre, and a little less
    watch = { attributes: true, attributeFilter: ['src'] };
  } else {
    target = [...node.querySelectorAll('.widget-html-content')]
      .find((el) => el.textContent.includes('Output:'));
    input = [...node.querySelectorAll('.widget-text')]
      .find((el) => el.querySelector('label').textContent === 'height').querySelector('input');
    values = ['31', '28'];
    watch = { childList: true, subtree: true, characterData: true };
  }
  const log = [];
  const onMessage = (_, args) => {
    if (args.direction !== 'recv') return;
    const m = args.msg;
    const bytes = (m.buffers || []).reduce((a, b) => a + (b.byteLength || 0), 0);
    log.push({ t: performance.now(), type: m.header.msg_type,
               state: m.content && m.content.execution_state, bytes });
  };
  kernel.anyMessage.connect(onMessage);
  const rows = [];
  try {
    for (let k = 0; k < n + warmup; k++) {
      log.length = 0;
      const changed = new Promise((resolve) => {
        const obs = new MutationObserver(() => { obs.disconnect(); resolve(performance.now()); });
        obs.observe(target, watch);
      });
      const t0 = performance.now();
      input.value = values[k % 2];
      input.dispatchEvent(new Event('change', { bubbles: true }));
      const tChanged = await changed;
      if (target.tagName === 'IMG') await target.decode();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const t1 = performance.now();
      for (let w = 0; w < 400 && !log.some((m) => m.state === 'idle'); w++) await sleep(5);
      const busy = log.find((m) => m.state === 'busy');
      const before = log.filter((m) => m.t <= tChanged);
      const trigger = before.length ? before[before.length - 1] : null;
      if (k >= warmup) {
        rows.push({
          total: t1 - t0,
          out: busy ? busy.t - t0 : null,
          kernel: busy && trigger ? trigger.t - busy.t : null,
          render: trigger ? t1 - trigger.t : null,
          bytes: log.reduce((a, m) => a + m.bytes, 0),
          messages: log.length,
        });
      }
      await sleep(60);
    }
  } finally {
    kernel.anyMessage.disconnect(onMessage);
  }
  return rows;
}
"""


def _in_process(code: str, kind: str) -> list[float]:
    """The same change timed in this process: recompute + PNG encode, no kernel, no browser."""
    from cnnwidgets.widgets import ConvCalculator, KernelPlayground

    # The notebook cell's own code, so both measure the same widget.
    widget = eval(code, {"ConvCalculator": ConvCalculator, "KernelPlayground": KernelPlayground})
    if kind == "kernel":
        kernels = []
        for centre in (4.5, 5.0):
            k = [list(r) for r in widget.kernel]
            k[1][1] = centre
            kernels.append(k)
        cycle = itertools.cycle(kernels)
        return repeat(lambda: setattr(widget, "kernel", next(cycle)), repeats=CHANGES)
    cycle = itertools.cycle([31, 28])
    return repeat(lambda: setattr(widget, "input_size", next(cycle)), repeats=CHANGES)


def _median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def run() -> list[str]:
    if str(REPO) not in sys.path:  # the Lab helpers live with the browser tests
        sys.path.insert(0, str(REPO))
    from tests.e2e import _lab

    if KIT and "cnnwidgets" not in sys.modules:  # the in-process figures of the same widgets
        sys.path.insert(0, str(Path(KIT).resolve()))
    import nbformat

    from cnnwidgets.lab import WORK

    reason = _lab.missing()
    if reason is not None:
        return [f"skipped: {reason}"]
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        root = _lab.copy_course(Path(tmp) / "kit")  # `make lab` serves it, as for a user
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell(
                "from cnnwidgets.widgets import ConvCalculator, KernelPlayground"
            )
        ] + [nbformat.v4.new_code_cell(code) for _, code, _, _ in CASES]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        (root / WORK).mkdir()  # `make lab` serves the learner's folder
        nbformat.write(nb, root / WORK / "bench.ipynb")
        env = {"PYTHONPATH": str(Path(KIT).resolve())} if KIT else {}
        server = _lab.LabServer(root, env=env).start()
        try:
            with sync_playwright() as pw:
                browser = _lab.launch_chromium(pw)
                try:
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    lab = _lab.LabPage.open(context, server, slots=1)
                    page = lab.open_notebook("bench.ipynb").wait_ready()
                    page.activate()
                    page.start_run_all()
                    page.wait_run(300)
                    report = page.inspect()
                    if report["errors"] or report["widgetViews"] != len(CASES):
                        raise RuntimeError(f"the benchmark notebook did not run cleanly: {report}")
                    version = browser.version
                    cdp = context.new_cdp_session(page.page)
                    cdp.send("Performance.enable")
                    results = {cell: _Result() for cell in range(1, len(CASES) + 1)}
                    for _round in range(ROUNDS):  # the cases take turns: load hits them alike
                        for cell, (_, _, kind, _) in enumerate(CASES, start=1):
                            page.output(cell).scroll_into_view_if_needed()
                            start, cpu0 = _main_thread(cdp), _cpu(server)
                            measured = page.page.evaluate(
                                _MEASURE,
                                {
                                    "path": page.path,
                                    "cell": cell,
                                    "kind": kind,
                                    "n": CHANGES,
                                    "warmup": WARMUP,
                                },
                            )
                            spent, cpu1 = _main_thread(cdp), _cpu(server)
                            results[cell].add(measured, start, spent, cpu0, cpu1)
                    for cell, (label, code, kind, target) in enumerate(CASES, start=1):
                        rows += _rows(label, code, kind, target, results[cell])
                finally:
                    browser.close()
        finally:
            server.cleanup()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    which = f"the widgets of {KIT}" if KIT else "this checkout's widgets"
    rows.append(
        f"Chromium {version} headless (--disable-gpu), JupyterLab on localhost, {which}; "
        f"{ROUNDS} rounds of {CHANGES} changes per case, the cases taking turns; "
        f"{os.cpu_count()} CPU cores, load average {load} (1, 5, 15 min) at the end"
    )
    return rows


class _Result:
    """One case's changes over all rounds, and what each round cost the machine."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.rounds: list[tuple[float, float]] = []  # (median ms, 1-min load average)
        self.busy: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.changes = 0

    def add(self, measured: list[dict], start, spent, cpu0, cpu1) -> None:
        self.rows += measured
        self.rounds.append((statistics.median(r["total"] for r in measured), os.getloadavg()[0]))
        n = CHANGES + WARMUP
        self.changes += n
        for k in spent:
            self.busy[k] = self.busy.get(k, 0.0) + spent[k] - start[k]
        for k in cpu1:
            self.cpu[k] = self.cpu.get(k, 0.0) + cpu1[k] - cpu0[k]

    def per_change(self, totals: dict[str, float]) -> dict[str, float]:
        return {k: v / self.changes for k, v in totals.items()}


def _cpu(server) -> dict[str, float]:
    """CPU milliseconds used so far by the kernel, the Jupyter server and Chromium."""
    try:
        import psutil
    except ImportError:
        return {"kernel": float("nan"), "server": float("nan"), "browser": float("nan")}

    def used(procs) -> float:
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += (t.user + t.system) * 1000
            except psutil.Error:
                pass
        return total

    # `make lab` started the server: make, and under it Jupyter and its kernels
    top = psutil.Process(server.proc.pid)
    tree = [top, *top.children(recursive=True)]
    kernels = [p for p in tree if "ipykernel" in " ".join(p.cmdline())]
    rest = [p for p in tree if p not in kernels]
    ours = psutil.Process().children(recursive=True)
    browser = [p for p in ours if "chrom" in p.name().lower()]
    return {"kernel": used(kernels), "server": used(rest), "browser": used(browser)}


def _main_thread(cdp) -> dict[str, float]:
    """Milliseconds the page's main thread spent so far, in all and by kind (Chrome's counters)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    keys = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")
    return {k: metrics.get(k, 0.0) * 1000 for k in keys}


def _rows(label: str, code: str, kind: str, target: float, result: _Result) -> list[str]:
    measured, busy, cpu = result.rows, result.per_change(result.busy), result.per_change(result.cpu)
    figures = summary([r["total"] for r in measured])
    median, p95 = figures["median_ms"], figures["p95_ms"]
    met = median <= target and p95 <= 2 * median
    verdict = f"target median <= {target} ms, p95 <= 2x median ({'met' if met else 'NOT met'})"
    local = summary(_in_process(code, kind))["median_ms"]
    kb = statistics.median(r["bytes"] for r in measured) / 1e3
    msgs = statistics.median(r["messages"] for r in measured)
    other = busy["TaskDuration"] - sum(
        busy[k] for k in ("ScriptDuration", "RecalcStyleDuration", "LayoutDuration")
    )
    rounds = ", ".join(f"{m:.1f} ms (load {load:.1f})" for m, load in result.rounds)
    return [
        line(f"{label} (browser)", figures, verdict),
        f"    rounds' medians: {rounds}",
        f"    where it goes (medians): out {_median(measured, 'out'):.1f} ms, "
        f"kernel {_median(measured, 'kernel'):.1f} ms (recompute + encode alone, in-process: "
        f"{local:.1f} ms), render {_median(measured, 'render'):.1f} ms; "
        f"{msgs:.0f} messages, {kb:.0f} KB received per change",
        f"    browser main thread per change (means): {busy['TaskDuration']:.1f} ms busy, of "
        f"which script {busy['ScriptDuration']:.1f}, style {busy['RecalcStyleDuration']:.1f}, "
        f"layout {busy['LayoutDuration']:.1f}, other (paint, image decode, GC) "
        f"{other:.1f}",
        f"    CPU per change (means): kernel {cpu['kernel']:.1f} ms, Jupyter server "
        f"{cpu['server']:.1f} ms, Chromium (all processes) {cpu['browser']:.1f} ms",
    ]

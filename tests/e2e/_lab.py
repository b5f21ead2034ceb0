"""JupyterLab in Chromium: a throw-away server on the course, the browser, and page helpers.

Shared by the end-to-end tests (tests/e2e) and the browser benchmark
(benchmarks/bench_browser.py). The server is started as the README says, `make lab`,
from a clean environment, on a copy of the kit that links the repository's .venv,
so running and saving notebooks never touches the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.name for p in (REPO / "course").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Where screenshots go; git-ignored.
ARTIFACTS = Path(os.environ.get("CNN_E2E_ARTIFACTS", REPO / "test-artifacts" / "e2e"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Lab settings of the test server (its own settings folder, so a developer's own
# ~/.jupyter settings never change what the tests see):
SETTINGS = {
    # Every cell in the DOM, whether scrolled to or not: tests find cells by index.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # Widget state saved with the notebook: the heaviest way a lesson can be saved,
    # which the size test bounds.
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


def missing() -> str | None:
    """Why the browser tests cannot run here, in one line, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[test]')"
    return None


def expect(target, message: str | None = None):
    """Playwright's ``expect``, imported on use: without playwright the tests still collect
    (and then skip, or fail under CI, with one clear line)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target, message)


# What `make lab` needs besides what it serves: the Makefile, what its venv rule reads, the
# settings of Lab's two faces, and what git ignores.
_MAKE_LAB = ("Makefile", "pyproject.toml", ".gitignore")
_GIT = ("git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost")
_GIT += ("-c", "init.defaultBranch=main")


def copy_course(dest: Path, *, git: bool = True) -> Path:
    """A copy of the kit as `make lab` serves it: the lessons, the assignments, nbgrader's
    config, the Makefile and Lab's settings, and the repository's own .venv (a link:
    nothing is reinstalled). With ``git``, the copy is a fresh repository with everything
    committed, as a clone is, so a test can ask ``git status`` what Lab changed."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder in ("course", "exercises", "solutions", "jupyter"):
        shutil.copytree(  # copy2 keeps times: make sees the venv as up to date
            REPO / folder,
            dest / folder,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in _MAKE_LAB:
        shutil.copy2(REPO / name, dest / name)
    (dest / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    # The copy shares the repository's venv but not its package: were its pyproject.toml
    # newer than the venv's stamp, the copy's `make lab` would reinstall the kit into the
    # shared venv from a folder without cnnwidgets, and break it for every process. The
    # repository's own `make` keeps its venv current; the copy's never rebuilds it.
    stamp = REPO / ".venv" / ".installed"
    if stamp.exists():
        when = stamp.stat().st_mtime
        for name in ("pyproject.toml", "jupyter/overrides.json"):
            if (dest / name).stat().st_mtime > when:
                os.utime(dest / name, (when, when))
    if git:
        subprocess.run([*_GIT, "init", "-q"], cwd=dest, check=True)
        subprocess.run([*_GIT, "add", "-A"], cwd=dest, check=True)
        subprocess.run([*_GIT, "commit", "-q", "-m", "the kit"], cwd=dest, check=True)
    return dest


def git_status(root: Path) -> list[str]:
    """``git status --porcelain`` of a copy made by :func:`copy_course`: one line per
    changed, new or deleted file that git does not ignore."""
    out = subprocess.run(
        [*_GIT, "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


# A new user's shell: the system's PATH, no venv activated, a home with no Jupyter settings.
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clean_env(home: Path, extra: dict | None = None) -> dict:
    """The environment of someone who has just cloned the kit and typed `make lab`."""
    env = {"PATH": CLEAN_PATH, "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}
    for name in ("CI", "TMPDIR"):  # CI=true changes what the tests demand, not what Lab does
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra or {})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """`make lab` (or `make instructor`, ``target="instructor"``) on a copy of the kit,
    on a free localhost port with a token."""

    def __init__(
        self,
        root: Path,
        *,
        target: str = "lab",
        settings: dict | None = None,
        env: dict | None = None,
    ) -> None:
        self.root = Path(root)
        self.target = target
        self.settings = SETTINGS if settings is None else settings
        self.extra_env = dict(env or {})
        self.port = 0
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self._home = Path(tempfile.mkdtemp(prefix="cnn-e2e-lab-"))
        self.log_path = self._home / "lab.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab", **query: str) -> str:
        """An address on the server, with the token (the browser then keeps a cookie)."""
        params = "&".join([*(f"{k}={v}" if v else k for k, v in query.items())])
        params = f"{params}&token={self.token}" if params else f"token={self.token}"
        return f"{self.base}/{path.lstrip('/')}?{params}"

    def start(self, timeout: float = 90) -> LabServer:
        """Start Lab as the README says, `make lab`, in a clean environment: the system PATH
        (not the venv's), a fresh HOME. Only the port, the token and the test settings are
        added, through the Makefile's LAB_ARGS."""
        if not (self.root / "Makefile").exists():
            raise RuntimeError(f"{self.root} has no Makefile: make it with copy_course()")
        user_settings = self._home / "user-settings"
        for plugin, values in self.settings.items():
            package, name = plugin.split(":")
            path = user_settings / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        (self._home / "workspaces").mkdir(exist_ok=True)
        (self._home / "home").mkdir(exist_ok=True)
        env = clean_env(self._home / "home", self.extra_env)
        last_error: Exception | None = None
        for _attempt in range(3):  # a free port can be taken between the probe and the bind
            self.port = _free_port()
            lab_args = [
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                "--LabApp.expose_app_in_browser=True",
                f"--LabApp.user_settings_dir={user_settings}",
                f"--LabApp.workspaces_dir={self._home / 'workspaces'}",
            ]
            cmd = ["make", "--no-print-directory", self.target, f"LAB_ARGS={' '.join(lab_args)}"]
            if shutil.which("setpriv"):  # util-linux, on every Debian
                # make gets SIGTERM (and passes it to the server, which stops its kernels)
                # if this process dies without its teardown, e.g. killed by a timeout.
                cmd = ["setpriv", "--pdeathsig", "TERM", "--", *cmd]
            with open(self.log_path, "ab") as log:
                # Its own session: Ctrl+C in the terminal reaches pytest, whose teardown
                # stops the server, which stops its kernels.
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=self.root,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as err:
                last_error = err
                self.stop()
        raise RuntimeError(f"JupyterLab did not start: {last_error}\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"no answer on port {self.port} within {timeout:.0f} s")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server and every kernel it started; wait for them."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        # make and the server are one process group (the server's shell execs it):
        # Jupyter shuts its kernels down on SIGTERM; wait until the group is gone.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.1)
        try:  # anything left in its process group (kernels have their own, and exit
            # on their own once their parent is gone)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._home, ignore_errors=True)


def launch_chromium(playwright):
    """Debian's Chromium, headless, through Playwright (never Playwright's own browsers)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


# ---- in the page ---------------------------------------------------------------------------
# window.jupyterapp is the JupyterLab application (LabApp.expose_app_in_browser).

_JS_HELPERS = (
    r"""
(slots) => {
  if (window.__e2e) return;
  const app = window.jupyterapp;
  const panelOf = (path) => {
    for (const w of app.shell.widgets('main')) {
      if (w.context && w.context.path === path) return w;
    }
    return null;
  };
  // Notebooks compute ``slots`` at a time (one per CPU core), first come first served.
  const queue = { free: slots, waiting: [] };
  const acquire = () => new Promise((resolve) => {
    if (queue.free > 0) { queue.free -= 1; resolve(); } else { queue.waiting.push(resolve); }
  });
  const release = () => {
    const next = queue.waiting.shift();
    if (next) { next(); } else { queue.free += 1; }
  };
  const kernelIdle = async (panel) => {
    await panel.context.ready;
    await panel.sessionContext.ready;
    for (;;) {
      const session = panel.sessionContext.session;
      if (session && session.kernel && session.kernel.status === 'idle') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const runs = {};
  // Lab's "Run All Cells" on one notebook, whichever tab is active, once a slot is free.
  const runAll = (path) => {
    const run = runs[path] = { state: 'queued', ok: null, error: null, seconds: null };
    (async () => {
      await acquire();
      const t0 = performance.now();
      try {
        const panel = panelOf(path);
        await kernelIdle(panel);
        run.state = 'running';
        run.ok = await app.commands.execute(
          'notebook:run-all-cells', { widgetId: panel.id, activate: false });
      } catch (err) {
        run.error = String((err && err.stack) || err);
      } finally {
        run.state = 'done';
        run.seconds = (performance.now() - t0) / 1000;
        release();
      }
    })();
  };
  const inspect = (path) => {
    const panel = panelOf(path);
    const r = {
      codeCells: 0, executed: 0, errors: [], stderr: [], widgetOutputs: 0,
      widgetViews: 0, widgetErrors: [], plainReprs: [], kernel: null,
    };
    if (!panel) { r.errors.push('no notebook open at ' + path); return r; }
    const session = panel.sessionContext.session;
    r.kernel = session && session.kernel ? session.kernel.status : null;
    const repr = /\b[A-Z][A-Za-z]*\((children|value|layout|description|options)=/;
    panel.content.widgets.forEach((cell, i) => {
      if (cell.model.type !== 'code') return;
      r.codeCells += 1;
      if (cell.model.executionCount) r.executed += 1;
      for (const out of cell.model.outputs.toJSON()) {
        if (out.output_type === 'error') {
          r.errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
        } else if (out.output_type === 'stream' && out.name === 'stderr') {
          r.stderr.push(`cell ${i}: ${String(out.text).slice(0, 300)}`);
        } else if (out.data && out.data['"""
    + WIDGET_MIME
    + r"""']) {
          r.widgetOutputs += 1;
        }
      }
      const areas = cell.node.querySelectorAll(
        ':scope .jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output');
      for (const out of areas) {
        const text = out.textContent || '';
        if (text.includes('Error displaying widget')) {
          r.widgetErrors.push(`cell ${i}: ${text.slice(0, 200)}`);
        } else if (out.querySelector('.jupyter-widgets')) {
          r.widgetViews += 1;
        }
        if (out.getAttribute('data-mime-type') === 'text/plain' && repr.test(text)) {
          r.plainReprs.push(`cell ${i}: ${text.slice(0, 120)}`);
        }
      }
    });
    return r;
  };
  window.__e2e = { panelOf, runAll, runs, inspect };
}
"""
)


class LabPage:
    """One JupyterLab in one browser page: notebooks open in its tabs, as a learner works."""

    def __init__(self, page, server: LabServer) -> None:
        self.page = page
        self.server = server

    @classmethod
    def open(cls, context, server: LabServer, *, slots: int = 2, timeout: float = 120) -> LabPage:
        """Load Lab (a fresh workspace); ``slots``: how many notebooks may run at once."""
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(server.url("lab", reset=""))
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.commands",
            timeout=timeout * 1000,
        )
        page.wait_for_selector(".jp-LabShell", timeout=timeout * 1000)
        page.evaluate(_JS_HELPERS, slots)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for the notebook
        return cls(page, server)

    def dismiss_dialogs(self) -> None:
        """Close any dialog a previous step left open (its last button: OK, Overwrite, ...)."""
        dialogs = self.page.locator(".jp-Dialog")
        for _ in range(5):
            if not dialogs.count():
                return
            dialogs.first.locator(".jp-Dialog-footer button").last.click()

    def open_notebook(self, path: str) -> NotebookTab:
        """Open ``path`` (relative to the server root) in a new tab; its kernel starts."""
        self.page.evaluate(
            """async (path) => {
                const w = await window.jupyterapp.commands.execute(
                    'docmanager:open', { path, factory: 'Notebook' });
                await w.context.ready;
            }""",
            path,
        )
        return NotebookTab(self, path)


class NotebookTab:
    """One notebook in a tab of a :class:`LabPage`, with its kernel."""

    def __init__(self, lab: LabPage, path: str) -> None:
        self.lab = lab
        self.page = lab.page
        self.path = path
        self.panel_id = self.page.evaluate("(p) => window.__e2e.panelOf(p).id", path)

    def wait_ready(self, timeout: float = 120) -> NotebookTab:
        """Wait for the notebook's kernel to be idle."""
        self.page.wait_for_function(
            """(path) => {
                const p = window.__e2e.panelOf(path);
                const s = p && p.sessionContext.session;
                return Boolean(s && s.kernel && s.kernel.status === 'idle');
            }""",
            arg=self.path,
            timeout=timeout * 1000,
            polling=250,
        )
        return self

    @property
    def root(self):
        """The tab's own part of the page, as a Playwright locator."""
        return self.page.locator(f'[id="{self.panel_id}"]')

    def activate(self) -> None:
        """Bring the notebook's tab to the front."""
        self.page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", self.panel_id)
        self.page.wait_for_function(
            "(path) => window.__e2e.panelOf(path).isVisible", arg=self.path, polling=50
        )

    def close(self) -> None:
        """Shut the notebook's kernel down and close its tab (unsaved changes are dropped)."""
        self.page.evaluate(
            """async (path) => {
                const panel = window.__e2e.panelOf(path);
                if (!panel) return;
                await panel.sessionContext.shutdown();
                panel.context.model.dirty = false;
                panel.close();
            }""",
            self.path,
        )

    # ---- running ------------------------------------------------------------------------

    def start_run_all(self) -> None:
        """Queue Lab's "Run All Cells" for this notebook; returns at once."""
        self.page.evaluate("(path) => window.__e2e.runAll(path)", self.path)

    def run_state(self) -> dict | None:
        return self.page.evaluate("(path) => window.__e2e.runs[path] || null", self.path)

    def wait_run(self, timeout: float) -> dict:
        """Wait for the run, an idle kernel and every widget output drawn; return the run."""
        self.page.wait_for_function(
            """(path) => {
                const run = window.__e2e.runs[path];
                if (!run || run.state !== 'done') return false;
                const r = window.__e2e.inspect(path);
                return r.kernel === 'idle'
                    && r.widgetViews + r.widgetErrors.length >= r.widgetOutputs;
            }""",
            arg=self.path,
            timeout=timeout * 1000,
            polling=500,
        )
        return self.run_state()

    def inspect(self) -> dict:
        """Cells, executed cells, errors, stderr, widget outputs and how they were drawn."""
        return self.page.evaluate("(path) => window.__e2e.inspect(path)", self.path)

    def save(self) -> None:
        """Save the notebook the way Ctrl+S does (widget state included when enabled)."""
        self.page.evaluate(
            "async (path) => { await window.__e2e.panelOf(path).context.save(); }", self.path
        )

    # ---- as a student: type, run ----------------------------------------------------------

    def outputs(self, index: int) -> list[dict]:
        """The outputs of cell ``index`` as saved in the .ipynb."""
        return self.page.evaluate(
            "([path, i]) => window.__e2e.panelOf(path).content.widgets[i].model.outputs.toJSON()",
            [self.path, index],
        )

    def execution_count(self, index: int) -> int | None:
        return self.page.evaluate(
            "([path, i]) => window.__e2e.panelOf(path).content.widgets[i].model.executionCount",
            [self.path, index],
        )

    def type_into(self, index: int, text: str) -> None:
        """Replace the code of cell ``index`` by ``text``, typed into its editor."""
        editor = self.cell(index).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)

    def run_cell(self, index: int, timeout: float = 120) -> list[dict]:
        """Shift+Enter in cell ``index``; wait for its new execution count; return its outputs."""
        before = self.execution_count(index)
        self.cell(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        self.wait_for(
            lambda: (n := self.execution_count(index)) is not None and n != before,
            timeout=timeout,
            message=f"cell {index} of {self.path} did not run",
        )
        return self.outputs(index)

    # ---- finding things -----------------------------------------------------------------

    def cell(self, index: int):
        """The Lab cell at ``index`` (as in the .ipynb file) as a Playwright locator."""
        return self.root.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int):
        """The output area of cell ``index``."""
        return self.cell(index).locator(".jp-Cell-outputArea").first

    def wait_for(self, probe, *, timeout: float = 30, message: str = "") -> object:
        """Poll ``probe()`` until it returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s: {message}")
            self.page.wait_for_timeout(100)

    def wait_image_change(self, image_locator, before: str, timeout: float = 30) -> str:
        """Wait until the <img> shows other bytes than the digest ``before``; the new digest."""
        return self.wait_for(
            lambda: (d := image_digest(image_locator)) != before and d,
            timeout=timeout,
            message="the picture did not change",
        )

    def screenshot(self, name: str, locator=None) -> Path:
        """A picture of the page (or of ``locator``) in the artifacts folder."""
        return screenshot(locator or self.page, name)

    def screenshot_notebook(self, name: str, max_height: int = 20_000) -> Path:
        """The whole notebook in one picture: the window grows to the notebook's height."""
        size = self.page.viewport_size
        extra = self.page.evaluate(
            """(path) => {
                const node = window.__e2e.panelOf(path).content.node;
                const outer = node.querySelector('.jp-WindowedPanel-outer') || node;
                outer.scrollTop = 0;
                return outer.scrollHeight - outer.clientHeight;
            }""",
            self.path,
        )
        height = min(size["height"] + max(extra, 0), max_height)
        self.page.set_viewport_size({"width": size["width"], "height": height})
        try:
            self.page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
            return self.screenshot(name)
        finally:
            self.page.set_viewport_size(size)


def image_digest(image_locator) -> str:
    """SHA-256 of the bytes an <img> shows (widget images are blob: URLs)."""
    return image_locator.evaluate(
        """async (img) => {
            const bytes = await (await fetch(img.src)).arrayBuffer();
            const digest = await crypto.subtle.digest('SHA-256', bytes);
            return Array.from(new Uint8Array(digest))
                .map((b) => b.toString(16).padStart(2, '0')).join('');
        }"""
    )


def screenshot(target, name: str) -> Path:
    """A PNG of a page or a locator in the artifacts folder; its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


def cell_index(notebook: Path, snippet: str) -> int:
    """Index of the first code cell of ``notebook`` whose source contains ``snippet``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and snippet in cell.source:
            return index
    raise AssertionError(f"{notebook.name} has no code cell containing {snippet!r}")

"""End to end in a real browser: lessons run in JupyterLab, headless Chromium, Python Playwright.

For each lesson in ``LESSONS``, a copy of the notebook (the originals are never opened, so never
modified) is opened in a JupyterLab started for this test alone; Run All runs it in fast mode
(``CI=true``, ``STARGAN_FAST=1`` in JupyterLab's environment, so in its kernels). The test then
checks what a student would see:

* every code cell ran (Run All stops at the first error) and no output is an error or a
  traceback, in the page and in the notebook as saved by the browser;
* every explorer (a cell calling ``..._explorer(``) is drawn as a live widget, with a slider and
  an image, not as the text ``HBox(children=...`` nor as "Error displaying widget";
* pressing arrow keys on the explorer's first slider changes the picture it draws;
* every matplotlib figure of the notebook is shown as a loaded ``<img>``.

Screenshots (each page after Run All, each explorer before and after the slider moved) go to
``test-artifacts/browser/``. Chromium: ``apt-get install chromium`` (``.ci/run`` does it); the
``playwright`` package comes with the ``dev`` extra. Where neither a system Chromium nor a
browser installed by ``playwright install chromium`` is found, the test is skipped.
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# The lessons with an explorer widget; a lesson not written yet is left out.
LESSONS = [name for name in ("00_welcome", "18_full_training")
           if (ROOT / "notebooks" / f"{name}.ipynb").is_file()]
RUN_ALL_TIMEOUT = 420  # seconds; lesson 18 takes about a minute in fast mode, more on a busy host
WIDGET_TIMEOUT = 90  # seconds for the kernel to answer a slider move with a new picture
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing: pip install -e '.[dev]'")


def system_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        executable = system_chromium()
        if executable is None and Path(p.chromium.executable_path).is_file():
            executable = p.chromium.executable_path  # installed by `playwright install chromium`
        if executable is None:
            pytest.skip("no Chromium to drive: install it with `apt-get install chromium` "
                        "(or `playwright install chromium`)")
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab of its own on 127.0.0.1: a free port, a token, temporary settings, runtime
    and config folders, the news pop-up disabled; its root is a temporary folder for the copies
    of the lessons. Yields ``(url, token, root)``."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root, settings = base / "root", base / "settings"
    root.mkdir()
    # Notebook cells are all kept in the page (no virtual scrolling), so that every output can
    # be found in the DOM; no news or update notifications.
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false",
                                                               "checkForUpdates": False}}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    (base / "config" / "labconfig").mkdir(parents=True)
    (base / "config" / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "CI": "true", "STARGAN_FAST": "1", "OMP_NUM_THREADS": "1",
           "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "IPYTHONDIR": str(base / "ipython"),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={base / 'workspaces'}",
               "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers often run as root
    log = open(base / "jupyterlab.log", "w")
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (base / "jupyterlab.log").read_text()
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


# --- reading the page ----------------------------------------------------------------------------

CELL_STATES = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'),
    c => (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim())"""
# "idle" when both the notebook's execution indicator and the status bar say so (the indicator
# alone says idle while the kernel is still starting: "No Kernel | Initializing").
KERNEL_STATUS = """() => {
    const e = document.querySelector(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
    const bar = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'),
                           t => t.textContent.trim()).find(t => / [|] \\w+$/.test(t)) || '';
    const status = e ? e.getAttribute('data-status') : null;
    return status === 'idle' && !bar.endsWith('| Idle') ? 'starting: ' + bar : status; }"""


def wait_for(predicate, timeout, message, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (after {timeout} s)")
        time.sleep(interval)


def menu(page, top: str, item: str):
    """Click ``top`` in the menu bar, then ``item`` (exact labels) in the menu it opens."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def wait_until_run_all_done(page, timeout):
    """Poll until no cell is queued or running (``[*]``) and the kernel is idle, three polls in a
    row (between two cells the kernel is briefly idle)."""
    calm = 0
    deadline = time.monotonic() + timeout
    while calm < 3:
        prompts, status = page.evaluate(CELL_STATES), page.evaluate(KERNEL_STATUS)
        calm = calm + 1 if status == "idle" and "[*]:" not in prompts else 0
        if time.monotonic() > deadline:
            raise AssertionError(f"Run All still running after {timeout} s: kernel {status}, "
                                 f"{prompts.count('[*]:')} cells waiting")
        time.sleep(1.0)


def outputs_of(nb: dict, kind: str) -> list:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
            if o["output_type"] == kind or kind in o.get("data", {})]


def saved_after_run(path: Path):
    """The notebook at ``path`` once saved with every code cell numbered, else None."""
    try:
        nb = json.loads(path.read_text())
    except ValueError:  # being written
        return None
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return nb if all(c.get("execution_count") for c in code) else None


def screenshot_page(page, path: Path):
    """The whole notebook in one picture: the window made as tall as the notebook's scrolled
    content (at most 16,000 pixels), scrolled to the top."""
    size = page.viewport_size
    hidden = page.evaluate("""() => {
        const boxes = Array.from(
            document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) *'))
            .filter(e => e.scrollHeight > e.clientHeight + 1);
        boxes.forEach(e => { e.scrollTop = 0; });
        return Math.max(0, ...boxes.map(e => e.scrollHeight - e.clientHeight)); }""")
    page.set_viewport_size({"width": size["width"], "height": min(size["height"] + hidden, 16000)})
    page.wait_for_timeout(1000)  # let JupyterLab lay the page out again
    page.screenshot(path=path)
    page.set_viewport_size(size)


# --- the test ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab_and_its_widgets_respond(lesson, lab, browser):
    source = ROOT / "notebooks" / f"{lesson}.ipynb"
    if lesson != "00_welcome":  # the cached models the lessons share, made once outside the page
        from starganlib.course import prepare_lessons
        prepare_lessons(fast=True)
    run_in_browser(source, lab, browser, expect_explorer=True)


def run_in_browser(source: Path, lab, browser, expect_explorer: bool):
    """Open a copy of the notebook ``source`` in ``lab``, Run All, check it (see the module's
    docstring); screenshots are named after the notebook."""
    url, token, root = lab
    lesson = source.stem
    copy = root / source.name
    shutil.copyfile(source, copy)
    original = json.loads(source.read_text())
    explorer_cells = [i for i, c in enumerate(original["cells"]) if c["cell_type"] == "code"
                      and re.search(r"\w+_explorer\(", "".join(c["source"]))]
    assert explorer_cells or not expect_explorer, f"{lesson} should show an explorer widget"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{lesson}-*.png"):
        old.unlink()
    print(f"browser screenshots: {ARTIFACTS}")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    problems = []  # JavaScript errors of the page, kept for the failure message
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{url}/lab/tree/{copy.name}?token={token}&reset", wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        wait_for(lambda: page.evaluate(KERNEL_STATUS) == "idle", 120, "the kernel did not start")
        n_cells = len(original["cells"])
        wait_for(lambda: page.locator(".jp-Notebook .jp-Cell").count() == n_cells, 60,
                 f"the page does not show the {n_cells} cells of {lesson}")

        started = time.monotonic()
        menu(page, "Run", "Run All Cells")
        wait_for(lambda: any(p != "[ ]:" for p in page.evaluate(CELL_STATES)), 60,
                 "Run All Cells did not start")
        wait_until_run_all_done(page, RUN_ALL_TIMEOUT)
        print(f"{lesson}: Run All took {time.monotonic() - started:.0f} s")
        screenshot_page(page, ARTIFACTS / f"{lesson}-after-run-all.png")

        # Every code cell ran: Run All stops at the first error and leaves the rest unnumbered.
        prompts = page.evaluate(CELL_STATES)
        not_run = [k for k, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not not_run, f"code cells {not_run} did not run (prompts {prompts})"
        # No error, no traceback in any output.
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        texts = [t for t in errors.all_inner_texts()
                 if "Traceback" in t or re.search(r"^\w*(Error|Exception)\b", t, re.M)]
        assert not texts, f"error output in {lesson}:\n" + "\n---\n".join(texts)
        body = page.locator(".jp-Notebook").inner_text()
        for bad in ("Error displaying widget", "Model not found", "Failed to display"):
            assert bad not in body, f"{lesson} shows {bad!r}"
        reprs = re.findall(r"^\s*\w*Box\(children=.*", body, re.M)
        assert not reprs, f"a widget is shown as text (no widget manager): {reprs[0][:200]}"

        # Figures: matplotlib output shown as loaded images.
        figures = page.locator(".jp-OutputArea-output[data-mime-type='image/png'] img")
        n_figures = figures.count()
        assert n_figures >= 1, f"{lesson} shows no figure"
        widths = figures.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert all(w > 0 for w in widths), f"figures not loaded: widths {widths}"

        # Explorers: live widgets with a slider and an image; a slider move redraws the image.
        for k in explorer_cells:
            output = page.locator(".jp-Notebook .jp-Cell").nth(k).locator(".jp-OutputArea")
            widget = output.locator(".jupyter-widgets").first
            slider = output.locator(".widget-slider").first
            image = output.locator("img.widget-image").first
            for part in (widget, slider, image):  # a Playwright timeout names what is missing
                part.wait_for(timeout=30_000)
            widget.scroll_into_view_if_needed()
            before_src = image.get_attribute("src")
            widget.screenshot(path=ARTIFACTS / f"{lesson}-cell{k}-widget-before.png")
            before_png = image.screenshot()
            readout = slider.locator(".widget-readout")
            before_value = readout.inner_text()
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(25):
                handle.press("ArrowRight")
            if readout.inner_text() == before_value:  # the slider was at its maximum
                for _ in range(50):
                    handle.press("ArrowLeft")
            assert readout.inner_text() != before_value, "the slider did not move"
            wait_for(lambda: image.get_attribute("src") != before_src, WIDGET_TIMEOUT,
                     f"cell {k} of {lesson}: the image did not change after the slider moved "
                     f"from {before_value} to {readout.inner_text()}")
            page.wait_for_timeout(500)  # let the new picture load before comparing pixels
            widget.screenshot(path=ARTIFACTS / f"{lesson}-cell{k}-widget-after.png")
            assert image.screenshot() != before_png, f"cell {k} of {lesson}: same picture"

        # The notebook as saved by the browser agrees: numbered cells, no errors, the figures.
        menu(page, "File", "Save Notebook")
        saved = wait_for(lambda: saved_after_run(copy), 60, "the notebook was not saved")
        assert not outputs_of(saved, "error"), outputs_of(saved, "error")
        stderr = [o for o in outputs_of(saved, "stream") if o["name"] == "stderr"]
        assert not [o for o in stderr if "Traceback" in "".join(o["text"])], stderr
        assert len(outputs_of(saved, "image/png")) == n_figures
        widgets = outputs_of(saved, "application/vnd.jupyter.widget-view+json")
        assert len(widgets) >= len(explorer_cells)
        assert json.loads(source.read_text()) == original, "the lesson itself was modified"
        assert not problems, f"JavaScript errors in the page: {problems}"
    except Exception:
        page.screenshot(path=ARTIFACTS / f"{lesson}-failure.png")
        raise
    finally:
        page.close()

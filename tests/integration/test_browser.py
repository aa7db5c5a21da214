"""End to end in headless Chromium: H5Web on `blissdata-h5 serve` shows a scan while it runs.

Needs Debian's ``chromium`` (``apt-get install chromium``; CI installs it) and
the Python ``playwright`` package (driving that system browser, never
downloading one).  The screenshot goes to ``$BLISSDATA_ARTIFACTS`` (default
``/tmp/blissdata-artifacts``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from live_scan import LiveScan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "Chromium is not installed (Debian: apt-get install chromium); "
        "the end-to-end browser test needs it",
        allow_module_level=True,
    )
playwright = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package drives Chromium"
)
pytest.importorskip("h5grove")

ARTIFACTS = Path(os.environ.get("BLISSDATA_ARTIFACTS", "/tmp/blissdata-artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long the page may take to show something (a bound on waiting, not a timing check).
UI_TIMEOUT_MS = 60_000


@pytest.fixture
def server(redis_url, tmp_path):
    """``blissdata-h5 serve REDIS_URL --root DIR``, the command users run; yields (URL, root)."""
    root = tmp_path / "root"
    root.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "blissdata_h5.cli", "serve", redis_url, "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read()
        yield url, root
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


@pytest.fixture
def browser(tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile for every run
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 800},
        )
        try:
            yield browser
        finally:
            browser.close()


def open_counter(page, name: str, entry: str) -> None:
    """Click through H5Web's explorer as a user does: entry, measurement, counter.

    Each click waits for the view to settle first: a plot replaced within
    milliseconds of its creation trips a race in the 3D library H5Web draws
    with (a canvas unmounted before it connects its event listeners).
    """
    for item in (entry, "measurement", name):
        page.wait_for_load_state("networkidle", timeout=UI_TIMEOUT_MS)
        page.get_by_role("treeitem", name=item).click(timeout=UI_TIMEOUT_MS)


def points_shown(page):
    """The "n" (number of elements) H5Web shows above the plot of a 1D dataset."""
    label = page.locator("abbr[title='Number of elements in each dimension']")
    return label.locator("xpath=../following-sibling::span[1]")


def test_h5web_shows_a_running_scan_and_its_new_points(server, browser, data_store):
    url, root = server
    scan = LiveScan(data_store, str(root / "live" / "run.h5"), npoints=50)
    scan.publish(4)
    expect = playwright.expect
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error}\n{error.stack}"))

    page.goto(f"{url}/")
    page.get_by_role("link", name="live/run.h5").click(timeout=UI_TIMEOUT_MS)
    open_counter(page, "diode1", scan.entry)
    expect(page.get_by_role("tab", name="Line")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(points_shown(page)).to_have_text("4", timeout=UI_TIMEOUT_MS)
    expect(page.locator("main canvas")).to_be_visible()

    scan.publish(3)  # the page follows the scan by itself (it polls /version)
    expect(points_shown(page)).to_have_text("7", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="diode1")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "h5web-live-scan.png"
    page.screenshot(path=str(screenshot))
    print(f"screenshot: {screenshot}")

    scan.publish(2)  # a refresh of the page shows them too
    page.reload()
    open_counter(page, "diode1", scan.entry)
    expect(points_shown(page)).to_have_text("9", timeout=UI_TIMEOUT_MS)
    page.get_by_role("tab", name="Matrix").click()
    cells = page.get_by_role("gridcell")
    expect(cells.first).to_be_visible(timeout=UI_TIMEOUT_MS)
    shown = [float(text) for text in cells.all_inner_texts() if "e" in text]
    assert shown == pytest.approx(list(scan.values("diode:diode1")), rel=1e-3)
    assert not errors, errors

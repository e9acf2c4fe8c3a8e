"""The MLflow run page and the report in headless Chromium: charts load, no text overflows.

Screenshots are kept under ``test-artifacts/browser/`` (gitignored). Skips only when Chromium or
playwright is missing here; where ``SWEEPER_REQUIRE_SERVERS`` is set (CI installs Chromium in
scripts/ci_services.sh) it fails instead.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.sweeper.report.test_mlflow_review import check_review_in_mlflow, sweep_and_report
from tests.servers import ServerUnavailable

SHOTS = REPO / "test-artifacts" / "browser"

#: Elements whose content is wider than their box (text overflow), and images that did not load.
OVERFLOW_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'svg'].includes(el.tagName)) continue;
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.overflowX === 'auto' || s.overflowX === 'scroll') continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && el.children.length === 0)
      bad.push(el.tagName + ': ' + el.textContent.slice(0, 60));
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    bad.push('page scrolls sideways');
  return bad;
}"""
IMAGES_JS = """() => [...document.images].map(
  i => ({src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0}))"""


def chromium() -> str:
    from tests.conftest import _skip_or_fail

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _skip_or_fail(ServerUnavailable("playwright is not installed (pip install playwright)"))
    if path is None:
        _skip_or_fail(ServerUnavailable("Chromium is not installed (apt-get install -y chromium)"))
    return path


@pytest.mark.slow
def test_mlflow_run_page_and_report_in_chromium(
    tiny_study: Path, tmp_path: Path, mlflow_tracking_server
) -> None:
    from playwright.sync_api import sync_playwright

    browser_path = chromium()
    server = mlflow_tracking_server
    data, html, report = sweep_and_report(tiny_study, tmp_path, server.url)
    exp_id, run_id = check_review_in_mlflow(server.url, data, html)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # The report, opened from disk: every chart image decoded, nothing overflows.
        page.goto(report.resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(IMAGES_JS)
        assert len(images) == 3 and all(i["ok"] for i in images), images
        assert page.evaluate(OVERFLOW_JS) == []
        assert "Recommendation: trial #" in page.inner_text("#executive-summary")
        page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
        # The MLflow run page of the parent run.
        page.goto(f"{server.url}/#/experiments/{exp_id}/runs/{run_id}")
        page.get_by_text("hypervolume").first.wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "mlflow-run.png"), full_page=True)
        # Each chart artifact as the UI serves it (get-artifact), decoded by the browser.
        for name in ("pareto_front.png", "hypervolume.png", "cost_breakdown.png"):
            ok = page.evaluate(
                """async (src) => { const i = new Image(); i.src = src;
                   try { await i.decode(); return i.naturalWidth > 0; }
                   catch (e) { return false; } }""",
                f"{server.url}/get-artifact?path=pareto/{name}&run_uuid={run_id}",
            )
            assert ok, name
        # The artifact browser of the run shows the Pareto chart.
        page.goto(f"{server.url}/#/experiments/{exp_id}/runs/{run_id}/artifacts")
        page.get_by_text("pareto", exact=True).first.click(timeout=60_000)
        page.get_by_text("pareto_front.png").first.click(timeout=30_000)
        img = page.locator("img[src*='pareto_front.png'], img[src^='blob:']").first
        img.wait_for(timeout=60_000)
        page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=img.element_handle())
        page.screenshot(path=str(SHOTS / "mlflow-artifact.png"), full_page=True)
        browser.close()

    # `sweeper report --pdf`: the same report printed by headless Chromium.
    from sweeper.cli import main

    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    out = tmp_path / "pdf" / "tiny.html"
    argv = ["report", str(tiny_study), "--storage", storage, "--no-mlflow", "--pdf", "--out"]
    assert main([*argv, str(out)]) == 0
    pdf = out.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # the report runs over pages
    (SHOTS / "report.pdf").write_bytes(pdf)

"""index.html in a real headless browser: it renders the matrix, its plots are real images, it fetches nothing.

Chromium's own background traffic (component updates, time sync) is told apart from the page's by the
network isolation key: requests made for a file:// page carry ``file://``. A control page with an
external image and stylesheet proves the check sees page requests.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from harness.report.render import render_index

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="NO BROWSER CHECK: chromium is not installed "
                                "(apt-get install -y chromium); the report's rendering is unchecked")


def chromium(page: Path, work: Path, *mode: str, window: str = "1280,3000") -> tuple[str, list[str]]:
    """Load ``page``; return stdout and the URLs the page itself asked the network for."""
    netlog = work / f"netlog-{len(list(work.glob('netlog-*')))}.json"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={work / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}", f"--window-size={window}", *mode, page.as_uri()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    fetched = [e["params"]["url"] for e in log["events"] if e["type"] == start
               and str(e["params"].get("network_isolation_key", "")).startswith("file://")
               and not e["params"]["url"].startswith(("file:", "data:"))]
    return proc.stdout, fetched


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("data-status"):
            self.cells.append(a["data-status"])
        for name in ("src", "href", "srcset", "poster", "action"):
            if a.get(name) is not None:
                self.urls.append((tag, name, a[name]))


def synthetic_results() -> dict:
    stats = {"dlr": {"count": 300, "p50": 4.1, "p90": 4.9, "p99": 6.2, "peak_rss_mb": 41.0,
                     "samples": [4.0 + (i * 37 % 100) / 40 for i in range(300)]},
             "onnxruntime": {"count": 300, "p50": 6.3, "p90": 7.4, "p99": 9.0, "peak_rss_mb": 77.0,
                             "samples": [6.0 + (i * 53 % 100) / 30 for i in range(300)]}}
    ok = {"nodeid": "harness/scenarios/test_inference.py::test_i[x86]", "status": "passed", "class": None,
          "message": None, "duration_s": 3.0}
    bad = dict(ok, nodeid="harness/scenarios/test_deploy.py::test_d[arm]", status="failed", message="deploy failed",
               **{"class": "deployment"})
    devices = [{"name": n, "profile": p, "arch": a, "emulated": True, "connection": "emulated core (ssh)",
                "dlr_abi": "tvm-0.27", "qemu": q} for n, p, a, q in (("x86", "ml_c5", "x86_64", False),
                                                                     ("arm", "rasp4b", "aarch64", True))]
    return {"schema": "edge-hil/results", "schema_version": 1, "run_id": "20260101-000000-abcd",
            "summary": {"passed": 2, "failed": 1, "error": 0, "skipped": 0, "devices": 2},
            "environment": {"harness": "0.1.0", "tvm": "0.27.0", "rerun": "hil run --lab lab.yaml", "devices": devices},
            "records": [
                {"device": "x86", "scenario": "inference", "status": "passed", "class": None, "emulated": True,
                 "tests": [ok], "stats": stats, "budgets": {"peak_rss_mb": 64.0}, "diagnoses": [],
                 "logs": {"greengrass.log": "deployment SUCCEEDED"}, "facts": {}},
                {"device": "arm", "scenario": "inference", "status": "passed", "class": None, "emulated": True,
                 "tests": [dict(ok, nodeid=ok["nodeid"].replace("x86", "arm"))], "stats": stats, "budgets": {},
                 "diagnoses": [], "logs": {}, "facts": {}},
                {"device": "arm", "scenario": "deploy", "status": "failed", "class": "deployment", "emulated": True,
                 "tests": [bad], "stats": {}, "budgets": {}, "logs": {"greengrass.log": "FAILED"}, "facts": {},
                 "diagnoses": [{"class": "deployment", "summary": "component BROKEN", "evidence": ["exit 1"],
                                "advice": "read the component log", "test": "test_deploy.py::test_d[arm]"}]}]}


def test_report_renders_with_visible_plots_and_fetches_nothing(tmp_path: Path) -> None:
    page = render_index(synthetic_results(), tmp_path / "index.html",
                        links={"results.json": "results.json", "junit.xml": "junit.xml"})
    dom_text, fetched = chromium(page, tmp_path, "--dump-dom")
    assert fetched == []
    dom = Dom()
    dom.feed(dom_text)
    assert {"verdict", "matrix-table", "figures-table", "failures", "device-table", "rerun-command"} <= dom.ids
    assert sorted(dom.cells) == ["failed", "passed", "passed"]
    images = [url for tag, _, url in dom.urls if tag == "img"]
    assert len(images) == 4  # latency + memory per device with figures (one run: no trend yet)
    for url in images:
        assert url.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert image.format == "PNG" and image.width > 300 and image.height > 150
        low, high = image.convert("L").getextrema()
        assert high - low > 100, "a blank plot"
    for tag, attr, url in dom.urls:
        parts = urlsplit(url)
        local = url.startswith("#") or (not parts.scheme and not parts.netloc and not url.startswith("//"))
        assert parts.scheme == "data" or local, f"<{tag} {attr}={url[:60]}> leaves the page"

    shot = tmp_path / "shot.png"
    chromium(page, tmp_path, f"--screenshot={shot}")
    low, high = Image.open(shot).convert("L").getextrema()
    assert shot.stat().st_size > 20_000 and high - low > 100


def test_the_network_check_sees_a_page_that_fetches(tmp_path: Path) -> None:
    page = tmp_path / "external.html"
    page.write_text('<html><body><img src="http://example.invalid/a.png">'
                    '<link rel="stylesheet" href="https://cdn.example.invalid/x.css"></body></html>')
    _, fetched = chromium(page, tmp_path, "--dump-dom")
    assert sorted(fetched) == ["http://example.invalid/a.png", "https://cdn.example.invalid/x.css"]


#: Appended to a copy of the page: where the reader's first screen ends and what lies above it.
LAYOUT_PROBE = """<script>
const topOf = el => el ? Math.round(el.getBoundingClientRect().top) : -1;
const bottomOf = el => el ? Math.round(el.getBoundingClientRect().bottom) : -1;
document.body.setAttribute("data-layout", JSON.stringify({
  screen: window.innerHeight, verdict: bottomOf(document.getElementById("verdict")),
  figures: bottomOf(document.getElementById("figures-table")),
  comparison: bottomOf(document.querySelector(".runtime-comparison")),
  plot: topOf(document.querySelector("img.plot")), failures: topOf(document.getElementById("failures")),
  reproductions: document.getElementById("reproductions-details")?.open}));
</script>"""


def layout_of(page: Path, work: Path) -> dict:
    probe = work / f"probe-{page.name}"
    probe.write_text(page.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    dom_text, fetched = chromium(probe, work, "--dump-dom", window="1366,768")
    assert fetched == []
    found = re.search(r'data-layout="([^"]+)"', dom_text)
    assert found, "the layout probe did not run"
    return json.loads(html.unescape(found.group(1)))


def history_of(results: dict, runs: int) -> list[dict]:
    """Earlier runs of the same lab, slower by a few per cent each (a trend to draw)."""
    out = []
    for n in range(runs):
        run = json.loads(json.dumps(results))
        run["run_id"] = f"20251231-00000{n}-abcd"
        for rec in run["records"]:
            for stats in rec["stats"].values():
                stats["p50"], stats["p90"] = stats["p50"] * (1.2 - n / 20), stats["p90"] * (1.3 - n / 20)
        out.append(run)
    return out


def test_the_first_screen_holds_the_verdict_and_the_figures(tmp_path: Path) -> None:
    """1366x768, the commonest laptop screen: verdict, matrix, figures table, runtime comparison and the
    first plot are all above the fold; the expected field-failure reproductions stay folded."""
    results = synthetic_results()
    results["records"][0]["tests"].append(dict(results["records"][0]["tests"][0], nodeid="test_ff.py::test_w[x86]"))
    results["records"][0]["diagnoses"] = [{"class": "wrong-target", "summary": "compiled for aarch64",
                                           "evidence": ["ELF machine 183"], "advice": "compile for ml_c4",
                                           "test": "test_ff.py::test_w[x86]"}]
    page = render_index(results, tmp_path / "index.html", history_of(results, 3))
    dom_text, _ = chromium(page, tmp_path, "--dump-dom")
    dom = Dom()
    dom.feed(dom_text)
    assert len([url for tag, _, url in dom.urls if tag == "img"]) == 6  # latency, memory, trend per device
    assert "FAIL" in dom_text.split('id="verdict"', 1)[1].split("</p>", 1)[0]
    assert "DLR p50 is 0.65× ONNX Runtime's" in dom_text
    layout = layout_of(page, tmp_path)
    screen = layout["screen"]
    assert 600 < screen <= 768, layout
    for what in ("verdict", "figures", "comparison"):
        assert 0 < layout[what] <= screen, f"{what} is below the first screen: {layout}"
    assert 0 < layout["plot"] < screen, f"no plot on the first screen: {layout}"
    assert layout["failures"] > layout["plot"] and layout["reproductions"] is False, layout

    shot = tmp_path / "first-screen.png"
    chromium(page, tmp_path, f"--screenshot={shot}", window="1366,768")
    image = Image.open(shot)
    assert image.size == (1366, 768)
    top = image.convert("RGB").crop((0, 0, 1366, 120))
    assert (245, 183, 177) in {colour for _, colour in top.getcolors(1366 * 120)}  # the FAIL verdict's red band

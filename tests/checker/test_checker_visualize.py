"""The HTML view: self-contained, and, in headless Chromium, the script draws the boxes."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from faultlab.checker.cli import main as cli_main
from faultlab.checker.formats import jsonl
from faultlab.checker.history import Operation
from faultlab.checker.linearizability import check
from faultlab.checker.visualize import render_html, write_html

OPS = [
    Operation(0, {"op": "write", "value": 0}, None, 0, 1),
    Operation(0, {"op": "write", "value": 1}, None, 2, 3),
    Operation(1, {"op": "read"}, 1, 4, 5, {"fault": "partition"}),
    Operation(2, {"op": "read"}, 0, 6, 7),  # nothing can write 0 again: not linearizable
    Operation(3, {"op": "write", "value": 2}, None, 1, None),
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_page_is_self_contained():
    page = render_html(check(OPS, "register", verbose=True), "register", title="t<1>")
    assert "t&lt;1&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "@import" not in page
    assert '"fault": "partition"' in page


def test_script_data_cannot_close_the_script_tag():
    ops = [Operation(0, {"op": "write", "value": "</script><b>x"}, None, 0, 1)]
    page = render_html(check(ops, "register", verbose=True), "register")
    assert "</script><b>x" not in page


def dump_dom(path, tmp_path) -> str:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_browser_draws_boxes_and_failure_mark(tmp_path):
    result = check(OPS, "register", verbose=True)
    page = tmp_path / "view.html"
    write_html(result, "register", page, title="small")
    dom = dump_dom(page, tmp_path)
    assert 'data-rendered="yes"' in dom  # the script ran to the end
    assert len(re.findall(r'<rect [^>]*class="op[ "]', dom)) == len(OPS)
    assert 'id="failure-mark-0"' in dom
    assert re.search(r'class="op[^"]*stuck', dom)  # the read of 0 could not go next
    assert 'data-state="1"' in dom  # model state after a linearized op, shown on hover
    assert 'class="fault-badge"' in dom
    assert dom.count('class="lin-point"') == len(result.partitions[0].linearizations[0])


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_browser_renders_cli_view_of_a_linearizable_history(tmp_path):
    ok = OPS[:3]
    src = tmp_path / "ok.jsonl"
    jsonl.write_history(ok, src, model="register")
    out = tmp_path / "ok.html"
    assert cli_main([str(src), "--html", str(out)]) == 0
    dom = dump_dom(out, tmp_path)
    assert len(re.findall(r'<rect [^>]*class="op[ "]', dom)) == 3
    assert "failure-mark" not in dom.split("<script", 1)[0].split("</style>", 1)[1]
    assert dom.count('class="lin-point"') == 3

"""The space-time diagram of a replayed run: every message, loss, timer, crash and call is
drawn, the failure is marked, and the page works in a real browser without network."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest
from faultlab.cli import main
from faultlab.sim import UNRELIABLE
from faultlab.tools.diagram import render_diagram
from faultlab.tools.example_register import BuggyRegisterMachine, build
from faultlab.tools.search import search
from faultlab.tools.workload import run_workload

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _lossy_run():
    world = build(4, clerks=2, profile=UNRELIABLE, log_events=True)
    run_workload(world, sorted(world.clients),
                 lambda c, k: {"op": "write", "value": f"{c}{k}"} if k % 2 else {"op": "read"},
                 6, 30.0)
    world.crash("backup")
    return world


def test_every_event_of_the_log_is_drawn():
    world = _lossy_run()
    whole = render_diagram(world, title="lossy <run>", failure="AssertionError: boom")
    page = whole.split('id="diagram"', 1)[1]  # the drawing, after the legend
    kinds = [e[1] for e in world.events]
    assert kinds.count("lose") > 0 and kinds.count("fire") > 0  # the run has both
    assert len(re.findall(r'class="msg"', page)) == kinds.count("deliver")
    assert page.count('class="lost-mark"') == kinds.count("lose")
    assert page.count('class="timer"') == kinds.count("fire")
    assert page.count('class="crash"') == kinds.count("crash") == 1
    assert page.count('class="invoke"') == kinds.count("invoke")
    assert page.count('class="return"') == kinds.count("return")
    assert 'id="failure-mark"' in page and "lossy &lt;run&gt;" in whole
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", whole)


def test_a_world_without_an_event_log_is_refused():
    with pytest.raises(ValueError, match="log_events"):
        render_diagram(build(1))


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_replay_html_of_a_search_counterexample_renders_in_chromium(tmp_path, replays, capsys):
    found = search(BuggyRegisterMachine, max_depth=8)
    out = tmp_path / "run.html"
    assert main(["replay", str(found.replay), "--html", str(out)]) == 1
    assert f"diagram: {out}" in capsys.readouterr().out
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout.split('id="diagram"', 1)[1]  # the drawing, after the legend
    assert 'data-rendered="yes"' in proc.stdout  # the script ran to the end
    # the six steps: two calls, four deliveries; the Replicate never arrives
    assert len(re.findall(r'<line [^>]*class="msg"', dom)) == 4
    assert len(re.findall(r'<line [^>]*class="msg in-flight"', dom)) == 1
    assert 'id="failure-mark"' in dom and "stale read" in dom


def test_replay_html_to_an_unwritable_place_is_a_one_line_error(tmp_path, replays, capsys):
    found = search(BuggyRegisterMachine, max_depth=8)
    code = main(["replay", str(found.replay), "--html", str(tmp_path / "no" / "such" / "x.html")])
    assert code != 0
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_the_legend_names_every_kind_of_mark():
    page = render_diagram(_lossy_run(), failure="AssertionError: boom")
    legend = page.split('<div class="legend">', 1)[1].split("</div>", 1)[0]
    for mark in ("msg", "msg lost", "msg in-flight", "timer", "crash", "start", "invoke",
                 "failure"):
        assert f'class="{mark}"' in legend, mark
    for words in ("message lost", "timer fired", "crash", "the failure"):
        assert words in legend


def test_long_labels_are_elided_with_the_whole_text_on_hover():
    world = build(1, clerks=1, log_events=True)
    value = "v" * 300
    world.call("c0", {"op": "write", "value": value})
    failure = "AssertionError: stale read: " + "x" * 500
    page = render_diagram(world, failure=failure)
    call = re.search(r'<text [^>]*class="invoke"><title>([^<]*)</title>([^<]*)</text>', page)
    label = html.unescape(call.group(2))
    assert value in html.unescape(call.group(1)) and len(label) <= 26 and label.endswith("…")
    lines = [html.unescape(t) for t in
             re.findall(r'class="failure-text"><title>[^<]*</title>([^<]*)</text>', page)]
    assert "".join(lines).replace(" ", "") == failure.replace(" ", "")  # wrapped, all of it
    width = int(re.search(r'<svg [^>]*id="diagram" width="(\d+)"', page).group(1))
    assert max(map(len, lines)) * 8 <= width


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_nothing_is_cut_off_in_chromium_at_1400_by_900(tmp_path):
    world = build(1, clerks=2, log_events=True)
    world.call("c1", {"op": "write", "value": "w" * 200})
    world.call("c0", {"op": "read"})
    out = tmp_path / "long.html"
    out.write_text(render_diagram(world, failure="AssertionError: stale read: " + "y" * 400))
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         out.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'data-rendered="yes"' in proc.stdout
    assert 'data-cut-off="0"' in proc.stdout, re.search(r'data-cut-off="\d+"', proc.stdout)
    assert 'class="legend"' in proc.stdout

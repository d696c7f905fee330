# ruff: noqa: E501  (the inline CSS/JS template has long lines)
"""A space-time diagram of a run: one vertical lane per node, time flowing down.

A replayed counterexample is a list of steps; read as a diagram it becomes a story. Each
message is an arrow from the moment it was sent to the moment it was delivered (a lost one
ends in a red cross, one still in flight at the end runs off the bottom), timers fire as dots
on their node's lane, crashes and restarts are bars across it, clerk calls and returns are
labelled on the clerk's lane, partitions and heals are bands across every lane, and the
failure, if any, is the red line at the end, its text wrapped below it. A legend above the
diagram says what each mark means; labels are elided to fit beside their lane, and hovering
over anything shows it in full.

The page is one self-contained file (inline SVG, CSS and a few lines of script; no network),
drawn from the World's event log (``log_events=True``, or ``World.events = []`` before the
steps of interest).
"""

from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path
from typing import Any

from faultlab.sim.world import World

__all__ = ["render_diagram", "write_diagram"]

LANE = 150   # px between node lanes
ROW = 22     # px per event
TOP = 60     # px above the first event
RIGHT = 200  # px right of the last lane, for its call labels
CALL_CHARS = 26  # a call label beside its lane (11 px text: about 6.5 px a character)
MSG_CHARS = 22   # a message label between two lanes
FAIL_LINE = 18   # px per line of the failure's text


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Canvas:
    """SVG elements with their hover text, in drawing order."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, tag: str, attrs: dict[str, Any], title: str = "", text: str = "") -> None:
        a = " ".join(f'{k.replace("_", "-")}="{html.escape(str(v), quote=True)}"'
                     for k, v in attrs.items())
        inner = (f"<title>{html.escape(title)}</title>" if title else "") + html.escape(text)
        self.parts.append(f"<{tag} {a}>{inner}</{tag}>")


def render_diagram(world: World, *, title: str = "run", failure: str | None = None) -> str:
    """The diagram of ``world``'s event log as an HTML page."""
    if world.events is None:
        raise ValueError("this World logged no events (build it with log_events=True)")
    names = list(world.factories)
    x = {n: 80 + LANE * i for i, n in enumerate(names)}
    events = world.events
    y_end = TOP + ROW * (len(events) + 1)
    c = _Canvas()
    for n in names:
        kind = "clerk" if n in world.clients else "server"
        c.add("text", {"x": x[n], "y": 24, "class": f"lane-name {kind}"}, n, n)
        c.add("line", {"x1": x[n], "y1": 34, "x2": x[n], "y2": y_end, "class": "lane"})
    sent: dict[int, tuple[str, str, float, str]] = {}  # id -> src, dst, y, text
    ended: set[int] = set()
    for row, (t_us, kind, *f) in enumerate(events):
        y = TOP + ROW * row
        when = f"t={t_us / 1e6:.6f}s"
        if kind == "send":
            mid, src, dst, msg = f
            sent[mid] = (src, dst, y, f"{type(msg).__name__} {src} -> {dst}: {_short(msg, 200)}")
        elif kind == "duplicate":
            src, dst, y0, text = sent[f[0]]
            sent[f[1]] = (src, dst, y, "duplicate of " + text)
        elif kind in ("deliver", "lose") and f[0] in sent:
            src, dst, y0, text = sent[f[0]]
            ended.add(f[0])
            if kind == "deliver":
                c.add("line", {"x1": x[src], "y1": y0, "x2": x[dst], "y2": y, "class": "msg",
                               "marker_end": "url(#arrow)"}, f"{text}\ndelivered {when}")
                c.add("text", {"x": (x[src] + x[dst]) / 2, "y": (y0 + y) / 2 - 3,
                               "class": "msg-label"}, text, _short(text.split(":")[0], MSG_CHARS))
            else:
                xm, ym = (x[src] + x[dst]) / 2, (y0 + y) / 2
                c.add("line", {"x1": x[src], "y1": y0, "x2": xm, "y2": ym, "class": "msg lost"},
                      f"{text}\nlost ({f[1]}) {when}")
                c.add("text", {"x": xm, "y": ym + 4, "class": "lost-mark"},
                      f"lost ({f[1]}): {text}", "✕")
        elif kind == "fire":
            c.add("circle", {"cx": x[f[0]], "cy": y, "r": 4, "class": "timer"},
                  f"timer {f[1]!r} fired at {f[0]}, {when}")
        elif kind == "send-failed":
            c.add("circle", {"cx": x[f[0]], "cy": y, "r": 4, "class": "notice"},
                  f"{f[0]} learns its send to {f[1]} failed, {when}")
        elif kind in ("crash", "start"):
            c.add("rect", {"x": x[f[0]] - 30, "y": y - 3, "width": 60, "height": 6,
                           "class": kind}, f"{kind} {f[0]}, {when}")
        elif kind in ("invoke", "return"):
            text = f"{'call' if kind == 'invoke' else 'returns'} {f[1]!r}"
            c.add("text", {"x": x[f[0]] + 8, "y": y + 4, "class": kind},
                  f"{f[0]} {text}, {when}", _short(text, CALL_CHARS))
        elif kind in ("partition", "heal"):
            label = "heal" if kind == "heal" else "partition " + " | ".join(
                ",".join(g) for g in f[0])
            c.add("rect", {"x": 20, "y": y - 2, "width": LANE * len(names), "height": 4,
                           "class": kind}, f"{label}, {when}")
            c.add("text", {"x": 24, "y": y - 5, "class": "band-label"}, label, label)
    for mid, (src, dst, y0, text) in sent.items():
        if mid not in ended:
            c.add("line", {"x1": x[src], "y1": y0, "x2": (x[src] + x[dst]) / 2, "y2": y_end,
                           "class": "msg in-flight"}, f"{text}\nstill in flight at the end")
            c.add("text", {"x": (3 * x[src] + x[dst]) / 4, "y": (y0 + y_end) / 2,
                           "class": "msg-label"}, text,
                  _short(text.split(":")[0], MSG_CHARS) + " (in flight)")
    width = 80 + LANE * (len(names) - 1) + RIGHT
    lines = textwrap.wrap(failure or "", max(30, (width - 30) // 8))
    if failure:
        c.add("line", {"x1": 20, "y1": y_end, "x2": width - 20, "y2": y_end,
                       "class": "failure", "id": "failure-mark"}, failure)
        for k, line in enumerate(lines):
            c.add("text", {"x": 24, "y": y_end + FAIL_LINE * (k + 1), "class": "failure-text"},
                  failure, line)
    height = y_end + FAIL_LINE * len(lines) + 30
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" id="diagram" width="{width}" '
           f'height="{height}">'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/>'
           "</marker></defs>" + "".join(c.parts) + "</svg>")
    summary = {"nodes": names, "events": len(events), "failure": failure}
    return _PAGE.format(title=html.escape(title), svg=svg, legend=_LEGEND,
                        summary=html.escape(json.dumps(summary)),
                        heading=html.escape(f"{title}: {len(events)} events, "
                                            f"{len(names)} nodes"))


def write_diagram(world: World, path: str | Path, *, title: str = "run",
                  failure: str | None = None) -> Path:
    """Write the diagram page to ``path`` (created or replaced)."""
    p = Path(path)
    p.write_text(render_diagram(world, title=title, failure=failure), encoding="utf-8")
    return p


def _swatch(shape: str) -> str:
    return f'<svg width="28" height="12">{shape}</svg>'


_LEGEND = '<div class="legend">' + "".join(
    f"<span>{_swatch(shape)}{html.escape(text)}</span>" for shape, text in [
        ('<line x1="2" y1="6" x2="26" y2="6" class="msg"/>', "message (send to delivery)"),
        ('<line x1="2" y1="6" x2="18" y2="6" class="msg lost"/>'
         '<text x="22" y="10" class="lost-mark" font-size="11">✕</text>', "message lost"),
        ('<line x1="2" y1="6" x2="26" y2="6" class="msg in-flight"/>', "still in flight"),
        ('<circle cx="14" cy="6" r="4" class="timer"/>', "timer fired"),
        ('<circle cx="14" cy="6" r="4" class="notice"/>', "sender told a send failed"),
        ('<rect x="2" y="3" width="24" height="6" class="crash"/>', "crash"),
        ('<rect x="2" y="3" width="24" height="6" class="start"/>', "start / restart"),
        ('<rect x="2" y="4" width="24" height="4" class="partition"/>', "partition"),
        ('<rect x="2" y="4" width="24" height="4" class="heal"/>', "heal"),
        ('<text x="2" y="10" class="invoke">call</text>', "clerk call / return"),
        ('<line x1="2" y1="6" x2="26" y2="6" class="failure"/>', "the failure"),
    ]) + "</div>"


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 12px system-ui, sans-serif; margin: 12px; }}
#info {{ position: sticky; top: 0; background: #fffbe6; border: 1px solid #e0d090; padding: 4px 8px; min-height: 1.4em; white-space: pre-wrap; }}
.lane {{ stroke: #bbb; stroke-width: 1; }}
.lane-name {{ text-anchor: middle; font-weight: bold; }}
.lane-name.clerk {{ fill: #36c; }}
.msg {{ stroke: #333; stroke-width: 1.2; }}
.msg.lost {{ stroke: #c33; stroke-dasharray: 4 3; }}
.msg.in-flight {{ stroke: #999; stroke-dasharray: 2 3; }}
.msg-label {{ font-size: 10px; fill: #555; text-anchor: middle; }}
.lost-mark {{ fill: #c33; font-size: 14px; text-anchor: middle; }}
.timer {{ fill: #e90; }} .notice {{ fill: #c33; }}
.crash {{ fill: #c33; }} .start {{ fill: #3a3; }}
.invoke, .return {{ font-size: 11px; fill: #36c; }}
.partition {{ fill: #c3c; opacity: .5; }} .heal {{ fill: #3a3; opacity: .5; }}
.band-label {{ font-size: 10px; fill: #808; }}
.failure {{ stroke: #d00; stroke-width: 3; }} .failure-text {{ fill: #d00; font-weight: bold; }}
.hl {{ stroke-width: 3 !important; }}
.legend {{ margin: 4px 0 8px; }} .legend span {{ display: inline-block; margin-right: 14px; white-space: nowrap; }}
.legend svg {{ vertical-align: middle; margin-right: 4px; }}
</style></head>
<body data-summary="{summary}">
<h3>{heading}</h3>
{legend}
<div id="info">hover over a message, timer, crash or call to read it in full</div>
{svg}
<script>
(function () {{
  var info = document.getElementById("info");
  document.querySelectorAll("svg title").forEach(function (t) {{
    var el = t.parentNode;
    el.addEventListener("mouseenter", function () {{ info.textContent = t.textContent; el.classList.add("hl"); }});
    el.addEventListener("mouseleave", function () {{ el.classList.remove("hl"); }});
  }});
  var svg = document.getElementById("diagram"), box = svg.getBoundingClientRect(), out = 0;
  svg.querySelectorAll("text").forEach(function (t) {{
    var b = t.getBoundingClientRect();
    if (b.left < box.left - 0.5 || b.right > box.right + 0.5 || b.bottom > box.bottom + 0.5) out++;
  }});
  document.body.setAttribute("data-cut-off", String(out));  // labels outside the drawing
  document.body.setAttribute("data-rendered", "yes");
}})();
</script>
</body></html>
"""

# ruff: noqa: E501  (the inline HTML/CSS/JS template has long lines)
"""A self-contained HTML view of a check: one row per client, operations as boxes.

The page needs no network: the CSS, the script and the data are inline, and the script
draws SVG. Per partition it shows the operations (open ones fade out to the right), the
longest partial linearizations (pick one with the buttons; its points are joined by a
line), a red mark at the first point no linearization gets past, the operations that could
not go next, the model state after each linearized operation on hover, and operations'
``meta`` annotations (faults) as badges. Use it on a ``check(..., verbose=True)`` result.
"""

from __future__ import annotations

import html
import json
import os
from typing import IO, Any

from .history import UNKNOWN
from .linearizability import CheckResult, Verdict
from .models import Model, get_model

__all__ = ["render_html", "write_html"]


def _partition_data(part: Any, model: Model) -> dict[str, Any]:
    ops = []
    for op in part.ops:
        out = UNKNOWN if op.ret is None else op.output
        ops.append({
            "client": str(op.client),
            "call": op.call,
            "ret": op.ret,
            "text": model.describe_operation(op.input, out),
            "meta": _jsonable(op.meta) if op.meta else None,
        })
    lins = [[[idx, model.describe_state(state)] for idx, state in lin]
            for lin in part.linearizations]
    keys = {json.dumps(op.input.get("key")) for op in part.ops if isinstance(op.input, dict)}
    label = f"key {keys.pop()}" if len(keys) == 1 and "null" not in keys else ""
    return {
        "index": part.index,
        "label": label,
        "verdict": str(part.verdict),
        "ops": ops,
        "linearizations": lins,
        "stuck": list(part.stuck),
        "blocking": part.blocking,
        "failTime": part.fail_time,
        "init": model.describe_state(model.init()),
        "longestExact": part.longest_exact,
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def render_html(result: CheckResult, model: Model | str, title: str = "history") -> str:
    """The page as a string (see the module docstring for what it shows)."""
    m = get_model(model)
    parts = sorted(result.partitions, key=lambda p: (p.verdict is Verdict.OK, p.index))
    data = {
        "title": title,
        "verdict": str(result.verdict),
        "nOps": result.n_ops,
        "nPartitions": result.n_partitions,
        "model": getattr(m, "name", type(m).__name__),
        "partitions": [_partition_data(p, m) for p in parts],
    }
    blob = json.dumps(data).replace("</", "<\\/")
    return (_TEMPLATE.replace("__TITLE__", html.escape(title))
            .replace("__DATA__", blob))


def write_html(result: CheckResult, model: Model | str, path_or_file: str | os.PathLike | IO[str],
               title: str = "history") -> None:
    """Write the page to a path or an open text file."""
    page = render_html(result, model, title)
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", encoding="utf-8") as f:
            f.write(page)
    else:
        path_or_file.write(page)


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__ — linearizability</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 4px; }
.verdict-ok { color: #176b2c; } .verdict-illegal { color: #b00020; } .verdict-unknown { color: #8a6d00; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; border: 1px solid #555; }
.scroll { overflow-x: auto; border: 1px solid #ddd; background: #fff; }
svg text { font-size: 11px; pointer-events: none; }
rect.op { stroke: #555; stroke-width: 1; rx: 3; }
rect.op.linearized { fill: #cfe8d4; } rect.op.pending { fill: #e4e4e4; }
rect.op.stuck { fill: #f7c6c6; stroke: #b00020; stroke-width: 2; }
rect.op.blocking { stroke: #b00020; stroke-width: 3; }
rect.op.open { stroke-dasharray: 4 3; }
rect.op:hover { stroke: #000; stroke-width: 2; }
.lin-path { fill: none; stroke: #1a5fb4; stroke-width: 1.5; }
.lin-point { fill: #1a5fb4; }
.failure-mark line { stroke: #b00020; stroke-width: 2; stroke-dasharray: 6 4; }
.failure-mark text { fill: #b00020; font-weight: bold; }
.fault-badge { fill: #e66100; }
.client-label { fill: #444; }
#info { position: fixed; right: 12px; bottom: 12px; max-width: 46em; background: #fffbe6; border: 1px solid #c9b458; padding: 6px 10px; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; display: none; }
button { margin: 2px; } button.active { background: #1a5fb4; color: #fff; }
</style></head>
<body>
<h1>__TITLE__</h1>
<div id="summary"></div>
<div class="legend">
 <span><i class="swatch" style="background:#cfe8d4"></i>in the shown linearization</span>
 <span><i class="swatch" style="background:#e4e4e4"></i>not linearized</span>
 <span><i class="swatch" style="background:#f7c6c6;border-color:#b00020"></i>could not go next</span>
 <span><i class="swatch" style="background:#fff;border:2px dashed #555"></i>open (no return)</span>
 <span><i class="swatch" style="background:#e66100"></i>fault annotation</span>
 <span style="color:#b00020">┆ no linearization gets past this point</span>
</div>
<div id="parts"></div>
<div id="info"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const NS = "http://www.w3.org/2000/svg";
const ROW = 30, BOX = 20, LEFT = 90, TOP = 30;
function el(tag, attrs, parent, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function h(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
const info = document.getElementById("info");
function showInfo(text) { info.textContent = text; info.style.display = "block"; }
function hideInfo() { info.style.display = "none"; }

const summary = document.getElementById("summary");
const words = {ok: "linearizable", illegal: "NOT linearizable", unknown: "unknown (timed out)"};
h("p", {}, summary).innerHTML = "";
const p = summary.firstChild;
h("b", {class: "verdict-" + DATA.verdict, id: "verdict"}, p, words[DATA.verdict] || DATA.verdict);
p.appendChild(document.createTextNode(
  ` — ${DATA.nOps} operations, ${DATA.nPartitions} partition(s), model ${DATA.model}` +
  (DATA.partitions.length < DATA.nPartitions ?
    `; ${DATA.partitions.length} shown (the search stops at the first failing partition)` : "")));
if (!DATA.partitions.length)
  h("p", {}, summary, "No details: run the check with verbose=True (the CLI does with --html).");

function drawPartition(part, host) {
  const sec = h("section", {class: "partition", "data-index": part.index}, host);
  h("h2", {}, sec).append(`Partition ${part.index}${part.label ? " (" + part.label + ")" : ""}: `,
    h("span", {class: "verdict-" + part.verdict}, null, words[part.verdict] || part.verdict),
    ` (${part.ops.length} operations)`);
  const bar = h("div", {}, sec);
  const scroll = h("div", {class: "scroll"}, sec);
  // time axis: distinct times by rank, so bursts stay readable
  const times = new Set();
  for (const op of part.ops) { times.add(op.call); if (op.ret !== null) times.add(op.ret); }
  if (part.failTime !== null) times.add(part.failTime);
  const sorted = [...times].sort((a, b) => a - b);
  const rank = new Map(sorted.map((t, i) => [t, i]));
  const unit = Math.max(20, Math.min(110, 1400 / Math.max(1, sorted.length)));
  const X = t => LEFT + 10 + rank.get(t) * unit;
  const end = LEFT + 10 + sorted.length * unit + 40;
  const clients = [...new Set(part.ops.map(o => o.client))].sort(
    (a, b) => (isNaN(a) || isNaN(b)) ? a.localeCompare(b) : a - b);
  const row = new Map(clients.map((c, i) => [c, i]));
  const height = TOP + clients.length * ROW + 20;
  const svg = el("svg", {width: end + 220, height: height, class: "history"}, scroll);
  const defs = el("defs", {}, svg);
  const grad = el("linearGradient", {id: "fade" + part.index}, defs);
  el("stop", {offset: "0%", "stop-color": "#e4e4e4", "stop-opacity": 1}, grad);
  el("stop", {offset: "100%", "stop-color": "#e4e4e4", "stop-opacity": 0}, grad);
  clients.forEach((c, i) => {
    el("text", {x: 8, y: TOP + i * ROW + BOX / 2 + 4, class: "client-label"}, svg, "client " + c);
    el("line", {x1: LEFT, x2: end, y1: TOP + i * ROW + BOX / 2, y2: TOP + i * ROW + BOX / 2,
                stroke: "#eee"}, svg);
  });
  const boxes = part.ops.map((op, idx) => {
    const x1 = X(op.call), x2 = op.ret === null ? end - 10 : Math.max(X(op.ret), x1 + 6);
    const y = TOP + row.get(op.client) * ROW;
    const g = el("g", {class: "op-group"}, svg);
    const r = el("rect", {x: x1, y: y, width: x2 - x1, height: BOX, "data-op": idx,
                          class: "op" + (op.ret === null ? " open" : "")}, g);
    const label = op.text.length * 6 < x2 - x1 - 4 ? op.text :
      op.text.slice(0, Math.max(0, Math.floor((x2 - x1 - 8) / 6))) + "…";
    el("text", {x: x1 + 3, y: y + 14}, g, label);
    if (op.meta) {
      el("circle", {cx: x1, cy: y, r: 5, class: "fault-badge", "data-meta": JSON.stringify(op.meta)}, g);
      r.classList.add("fault");
    }
    r.addEventListener("mouseenter", () => showInfo(describe(part, idx)));
    r.addEventListener("mouseleave", hideInfo);
    return {rect: r, x1: x1, x2: x2, y: y};
  });
  for (const i of part.stuck) boxes[i].rect.classList.add("stuck");
  if (part.blocking !== null) boxes[part.blocking].rect.classList.add("blocking");
  if (part.failTime !== null) {
    const g = el("g", {class: "failure-mark", id: "failure-mark-" + part.index}, svg);
    const fx = X(part.failTime) + 2;
    el("line", {x1: fx, x2: fx, y1: 12, y2: height - 6}, g);
    el("text", {x: fx + 4, y: 14}, g, "no linearization gets past here");
  }
  const linLayer = el("g", {class: "linearization"}, svg);
  let current = 0;
  function showLin(k) {
    current = k;
    while (linLayer.firstChild) linLayer.removeChild(linLayer.firstChild);
    const lin = part.linearizations[k] || [];
    const pos = new Map(lin.map(([idx, st], n) => [idx, {n: n, state: st}]));
    part.ops.forEach((op, idx) => {
      const r = boxes[idx].rect;
      r.classList.toggle("linearized", pos.has(idx));
      r.classList.toggle("pending", !pos.has(idx));
      if (pos.has(idx)) r.setAttribute("data-state", pos.get(idx).state);
      else r.removeAttribute("data-state");
      r.setAttribute("fill", op.ret === null && !pos.has(idx) ? `url(#fade${part.index})` : "");
    });
    let prev = -Infinity, d = "";
    lin.forEach(([idx], n) => {
      const b = boxes[idx];
      let x = Math.max(prev + 4, b.x1 + 3);
      if (x > b.x2 - 3) x = Math.max(b.x1 + 1, b.x2 - 3);
      prev = x;
      const y = b.y + BOX / 2;
      d += (n ? " L" : "M") + x + " " + y;
      el("circle", {cx: x, cy: y, r: 3.5, class: "lin-point", "data-step": n}, linLayer);
    });
    if (d) el("path", {d: d, class: "lin-path"}, linLayer);
    for (const b of bar.querySelectorAll("button"))
      b.classList.toggle("active", Number(b.dataset.k) === k);
  }
  if (part.linearizations.length) {
    bar.append(part.verdict === "ok" ? "Linearization: " : "Longest partial linearizations: ");
    part.linearizations.forEach((lin, k) => {
      const done = lin.filter(([i]) => part.ops[i].ret !== null).length;
      const size = part.verdict === "ok" || part.longestExact ? "" : "at least ";
      const b = h("button", {"data-k": k}, bar, `#${k + 1} (${size}${done} of ` +
        `${part.ops.filter(o => o.ret !== null).length} completed ops)`);
      b.addEventListener("click", () => showLin(k));
    });
  }
  showLin(0);
  if (part.stuck.length || part.blocking !== null) {
    const ul = h("ul", {class: "explanation"}, sec);
    if (part.blocking !== null)
      h("li", {}, ul, `No linearization gets past t=${part.failTime}, the return of client ` +
        `${part.ops[part.blocking].client}: ${part.ops[part.blocking].text}`);
    for (const i of part.stuck)
      h("li", {}, ul, `could not go next: client ${part.ops[i].client}: ${part.ops[i].text}`);
  }
  function describe(part, idx) {
    const op = part.ops[idx];
    const lin = part.linearizations[current] || [];
    const at = lin.findIndex(([i]) => i === idx);
    let s = `client ${op.client}: ${op.text}\ncall ${op.call}, ` +
      (op.ret === null ? "no return (open)" : `return ${op.ret}`);
    if (at >= 0) {
      const before = at ? lin[at - 1][1] : part.init;
      s += `\nlinearized as step ${at + 1}\nstate before: ${before}\nstate after:  ${lin[at][1]}`;
    } else s += "\nnot in this linearization";
    if (part.stuck.includes(idx)) s += "\ncould not go next: the model refuses it in that state";
    if (op.meta) s += "\nmeta: " + JSON.stringify(op.meta);
    return s;
  }
}
const host = document.getElementById("parts");
for (const part of DATA.partitions) drawPartition(part, host);
document.body.setAttribute("data-rendered", "yes");
</script>
</body></html>
"""

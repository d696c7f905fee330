"""The demo's table fits 100 columns whatever its rows hold, and loses no text."""

from __future__ import annotations

import re

from faultlab.demo_row import WIDTH, DemoRow, format_rows
from hypothesis import given
from hypothesis import strategies as st

words = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=140)
fields = st.lists(words, max_size=30).map(" ".join)
rows = st.builds(DemoRow, system=fields, driver=fields, explored=fields, checked=fields,
                 verdict=fields, ok=st.booleans())


@given(st.lists(rows, min_size=1, max_size=4))
def test_every_line_fits_and_every_word_is_kept(demo_rows):
    lines = format_rows(demo_rows)
    assert all(len(line) <= WIDTH for line in lines), [ln for ln in lines if len(ln) > WIDTH]
    text = re.sub(r"\s+", "", "".join(lines))
    for r in demo_rows:
        for value in (r.system, r.driver, r.explored, r.checked, r.verdict):
            assert re.sub(r"\s+", "", value) in text


def test_a_row_reads_as_heading_then_labelled_fields():
    row = DemoRow("raft", "seeded scheduler", "5 servers, " + "x" * 120, "safety",
                  "ok", ok=False)
    lines = format_rows([row])
    assert lines[0] == "[UNEXPECTED] raft: ok"
    assert lines[1] == "    driver    seeded scheduler"
    assert lines[2].startswith("    explored  5 servers, ") and lines[3].startswith(" " * 14)
    assert lines[-1] == "    checked   safety"

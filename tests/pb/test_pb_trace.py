"""The abstract states of the viewservice and the servers go into TLA+ traces."""

from __future__ import annotations

import io
import json

from faultlab.pb.cluster import build
from faultlab.tools.trace import TraceRecorder


def test_trace_records_views_roles_and_store(seed: int) -> None:
    world = build(seed, servers=2, clerks=1)
    out = io.StringIO()
    TraceRecorder(world, "pb", out)
    world.run_for(1.0)
    world.call("c1", {"op": "put", "key": "k", "value": "v"})
    world.crash("s1")
    world.run_for(1.0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    last = lines[-1]["states"]
    assert last["vs"]["view"] == [3, "s2", ""] and last["vs"]["acked"] is True
    assert last["s1"] is None  # crashed
    assert last["s2"]["role"] == "primary" and last["s2"]["serving"]
    assert last["s2"]["store"] == {"k": "v"} and last["s2"]["applied"] == 1
    roles = {(line["states"]["s2"] or {}).get("role") for line in lines[1:]}
    assert {"idle", "backup", "primary"} <= roles

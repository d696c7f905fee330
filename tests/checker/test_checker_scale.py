"""The checker at scale: the reader's memory is the operations it keeps, not the file."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from faultlab.checker.formats import load_history


def _write_kv(path, n: int) -> None:
    """``n`` sequential put/get operations on 1,000 keys (a linearizable history)."""
    with open(path, "w") as f:
        f.write('{"faultlab_history": 1, "model": "kv"}\n')
        for i in range(n):
            key = f"k{i % 1000}"
            if i % 2000 < 1000:
                line = (f'{{"client": {i % 10}, "input": {{"op": "put", "key": "{key}", '
                        f'"value": "v{i}"}}, "output": null')
            else:
                line = (f'{{"client": {i % 10}, "input": {{"op": "get", "key": "{key}"}}, '
                        f'"output": "v{i - 1000}"')
            f.write(f'{line}, "call": {2 * i}, "return": {2 * i + 1}}}\n')


@pytest.mark.parametrize("n", [
    50_000,
    pytest.param(1_000_000, marks=pytest.mark.deep),
])
def test_reading_memory_is_the_operations_kept(tmp_path, n):
    # a file read whole (bytes, text, a list of lines) costs more than three times its size
    # on top of the operations; read a line at a time, the peak is what is kept
    path = tmp_path / "long.jsonl"
    _write_kv(path, n)
    size = path.stat().st_size
    gc.collect()
    tracemalloc.start()
    try:
        loaded = load_history(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(loaded.ops) == n
    assert loaded.ops[1].input["key"] is loaded.ops[1001].input["key"]  # names shared
    assert peak <= kept * 1.1 + 1_000_000, (peak, kept, size)
    assert kept <= 4 * size, (kept, size)  # the operations: a few times the line's text
    if n >= 1_000_000:
        assert peak < 1e9

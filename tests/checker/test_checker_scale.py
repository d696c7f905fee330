"""The checker at scale: the reader's memory is the operations it keeps, not the file;
progress reports."""

from __future__ import annotations

import gc
import io
import tracemalloc

import pytest
from faultlab.checker.formats import load_history
from faultlab.checker.linearizability import Verdict, check
from faultlab.checker.progress import Progress


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


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_throttled_and_reports_reading_and_search(tmp_path):
    # a fake clock: a line only when half a second has passed since the last one
    out = io.StringIO()
    clock = _Clock()
    progress = Progress(out, clock=clock)
    progress.path = "h.jsonl"
    progress.reading(8192)
    clock.now = 0.6
    progress.reading(16384)
    progress.searching(0, 3, 1, 512)
    clock.now = 1.0
    progress.searching(1, 3, 2, 1024)
    clock.now = 1.2
    progress.searching(2, 3, None, 0)
    assert out.getvalue().splitlines() == [
        "h.jsonl: 16384 ops read",
        "h.jsonl: 2/3 partitions decided",
    ]


def test_check_and_the_reader_call_progress(tmp_path):
    path = tmp_path / "long.jsonl"
    _write_kv(path, 20_000)
    read: list[int] = []
    loaded = load_history(path, progress=read.append)
    assert read[-1] == 20_000 and read == sorted(read) and len(read) >= 2
    calls: list[tuple] = []
    result = check(loaded.ops, loaded.model, progress=lambda *a: calls.append(a))
    assert result.verdict is Verdict.OK and result.n_partitions == 1000
    decided = [c[0] for c in calls]
    assert decided == sorted(decided) and decided[-1] == 1000
    assert all(c[1] == 1000 for c in calls)

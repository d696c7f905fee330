"""Hypothesis explores MapReduce (see impl/mr/explore.py); a seeded bug shows it can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from faultlab.mr.explore import MapReduceMachine
from faultlab.mr.files import format_output, output_name, read_reduce_input
from faultlab.mr.worker import Worker
from faultlab.tools.explore import explore
from hypothesis import settings

TestMapReduceMachine = MapReduceMachine.TestCase
TestMapReduceMachine.settings = settings(max_examples=30, stateful_step_count=50,
                                         deadline=None)


def write_in_place(self: Worker, t):
    """A seeded bug: the reduce output is written straight to mr-out-Y, a half first and the
    rest after a pause, so a crash or an early reader can find it partial."""
    groups = read_reduce_input(self.workdir, t.task, t.n_map)
    pairs = [(k, self.app.reduce_fn()(k, groups[k])) for k in sorted(groups)]
    path = self.workdir / output_name(t.task)
    half = len(pairs) // 2
    path.write_text(format_output(pairs[:half]))
    yield 0.5
    path.write_text(format_output(pairs))


def test_exploration_catches_an_output_written_in_place(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("FAULTLAB_REPLAY_DIR", str(tmp_path))
    monkeypatch.setattr(Worker, "_run_reduce", write_in_place)
    result = explore(MapReduceMachine, seed=1, examples=30, steps=50)
    assert result.error is not None and "partial or wrong" in result.error, result
    assert result.replay is not None and result.replay.exists()

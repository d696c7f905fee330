"""The coordinator's rules, the file discipline, app loading and determinism, one at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultlab.mr.app import AppError, load_app
from faultlab.mr.coordinator import DONE
from faultlab.mr.files import (
    TMP_PREFIX,
    atomic_write,
    bucket,
    output_lines,
    read_reduce_input,
    write_map_output,
)
from faultlab.mr.sequential import reference_lines, run_sequential
from faultlab.mr.simulate import build_job, run_job
from faultlab.sim.network import UNRELIABLE

SLEEPY = '''
def map(filename, contents, *, ctx):
    yield ctx.sleep({seconds})
    return [(w, "1") for w in contents.split()[:50]]

def reduce(key, values):
    return str(len(values))
'''

IN_ORDER = '''
def map(filename, contents):
    name = filename.rsplit("/", 1)[-1]
    return [(w[:2].lower(), f"{{name}}:{{i}}") for i, w in enumerate(contents.split()[:300])]

def reduce(key, values):
    return " ".join(values)  # not sorted: the order of values must be the reference's
'''


def app_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return str(path)


def test_a_dead_workers_task_is_reassigned_after_exactly_the_timeout(
        tmp_path: Path, books: list[str], seed: int) -> None:
    job = build_job(tmp_path, books, "wc", workers=0, seed=seed)
    job.add_worker("w0", max_tasks=0)  # dies holding map task 0
    job.add_worker("w1")
    run = run_job(job)
    assert run.completed
    c = job.coordinator
    assert c.maps[0].attempts == 2 and c.maps[0].done_by == "w1.0"
    assert 10.0 <= c.maps[0].started <= 10.0 + 0.2 + 1e-9  # the next ask after the deadline
    assert c.reassigned == 1
    assert all(t.attempts == 1 for t in c.maps[1:] + c.reduces)
    assert output_lines(tmp_path) == reference_lines("wc", books)


@pytest.mark.parametrize("seconds, reassigned", [(9.9, False), (10.5, True)])
def test_a_slow_task_is_reassigned_only_after_ten_seconds(
        tmp_path: Path, books: list[str], seconds: float, reassigned: bool, seed: int) -> None:
    app = app_file(tmp_path, "sleepy", SLEEPY.format(seconds=seconds))
    work = tmp_path / "job"
    work.mkdir()
    job = build_job(work, books[:1], app, workers=2, n_reduce=3, seed=seed)
    assert run_job(job).completed
    c = job.coordinator
    assert (c.reassigned == 1) is reassigned
    assert c.maps[0].attempts == (2 if reassigned else 1)
    assert c.maps[0].done_by == "w0.0"  # the first attempt finished first, and counts
    if reassigned:  # the second attempt reports after the job is over, and is ignored
        job.world.run_for(15.0)
        assert c.duplicate_reports == 1 and c.maps_done == 1
    assert output_lines(work) == reference_lines(app, books[:1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lost_messages_never_hand_out_a_task_twice(tmp_path: Path, books: list[str],
                                                   seed: int) -> None:
    """Requests are resent with the same number; the coordinator answers a resent request
    with the task it already gave, so losses cost retries, never a second attempt."""
    job = build_job(tmp_path, books, "indexer", workers=3, seed=seed, profile=UNRELIABLE)
    assert run_job(job).completed
    c = job.coordinator
    assert job.world.counters.lost > 0
    assert all(t.state == DONE and t.attempts == 1 for t in c.maps + c.reduces)
    assert output_lines(tmp_path) == reference_lines("indexer", books)


def test_values_reach_reduce_in_the_reference_order(tmp_path: Path, books: list[str],
                                                     seed: int) -> None:
    app = app_file(tmp_path, "in_order", IN_ORDER)
    work = tmp_path / "job"
    work.mkdir()
    job = build_job(work, books, app, workers=3, n_reduce=5, seed=seed)
    assert run_job(job).completed
    assert output_lines(work) == reference_lines(app, books)


def test_intermediate_files_bucket_by_hash_and_merge_in_map_order(tmp_path: Path) -> None:
    write_map_output(tmp_path, 0, 3, [("a", "1"), ("b", "2"), ("a", "3")])
    write_map_output(tmp_path, 1, 3, [("a", "4"), ("c", "5")])
    for y in range(3):
        items = json.loads((tmp_path / f"mr-0-{y}").read_text())
        assert all(bucket(k, 3) == y for k, _ in items)
    merged = {}
    for y in range(3):
        merged.update(read_reduce_input(tmp_path, y, 2))
    assert merged == {"a": ["1", "3", "4"], "b": ["2"], "c": ["5"]}


def test_combiner_output_is_what_reduce_sees(tmp_path: Path) -> None:
    wc = load_app("wc")
    write_map_output(tmp_path, 0, 1, [("x", "1")] * 5 + [("y", "1")], wc.combine)
    assert read_reduce_input(tmp_path, 0, 1) == {"x": ["5"], "y": ["1"]}


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    target = tmp_path / "mr-out-0"
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "complete line\n" * 1000 + "\ud800")  # fails mid-write
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, "ok\n")
    assert target.read_text() == "ok\n" and not list(tmp_path.glob(f"{TMP_PREFIX}*"))


def test_apps_load_by_name_module_and_file(tmp_path: Path) -> None:
    assert load_app("wc").name == "wc"
    assert load_app("faultlab.mr.apps.indexer").name == "faultlab.mr.apps.indexer"
    assert load_app(app_file(tmp_path, "sleepy", SLEEPY.format(seconds=1))).name == "sleepy"
    for spec, problem in [("nosuch", "no app"), (str(tmp_path / "missing.py"), "does not exist"),
                          ("json", "has no function map")]:
        with pytest.raises(AppError, match=problem):
            load_app(spec)


def test_an_app_yielding_something_else_than_a_sleep_is_an_error(tmp_path: Path,
                                                                  books: list[str]) -> None:
    app = app_file(tmp_path, "odd", "def map(f, c):\n    yield 'x'\n"
                   "def reduce(k, v):\n    return ''\n")
    with pytest.raises(AppError, match="yielded 'x'"):
        run_sequential(app, books[:1])


def test_the_sequential_crash_app_is_refused(books: list[str]) -> None:
    for seed in range(20):  # some seed crashes in the first few calls
        try:
            run_sequential("crash", books, seed=seed)
        except AppError as e:
            assert "nocrash" in str(e)
            return
    pytest.fail("the crash app never crashed")


def event_log(tmp_path: Path, books: list[str], seed: int) -> list[str]:
    job = build_job(tmp_path, books, "crash", workers=4, seed=seed, log_events=True)
    run_job(job, restart_delay=1.0, restart=job.workers[1:])
    return job.world.event_log_lines()


def test_simulated_runs_are_a_function_of_the_seed(tmp_path: Path, books: list[str]) -> None:
    runs = []
    for k, seed in enumerate([5, 5, 6]):
        folder = tmp_path / str(k)
        folder.mkdir()
        runs.append(event_log(folder, books, seed))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_tasks_pause_the_cycle_collector_and_always_restore_it(tmp_path: Path, books: list[str],
                                                               seed: int) -> None:
    import gc

    from faultlab.mr.app import cycle_collector_paused

    seen = []

    def mapping(filename: str, contents: str) -> list[tuple[str, str]]:
        seen.append(gc.isenabled())
        return [("k", "1")]

    app = load_app("wc")
    app._map = mapping  # an app that records whether the collector ran during its map
    run_sequential(app, books[:1])
    work = tmp_path / "job"
    work.mkdir()
    assert run_job(build_job(work, books[:2], app, workers=1, n_reduce=1, seed=seed)).completed
    assert seen == [False, False, False] and gc.isenabled()
    with pytest.raises(KeyError), cycle_collector_paused():
        raise KeyError("an app's error")
    assert gc.isenabled()  # restored even when the app raised
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()  # and left off when it was off
    finally:
        gc.enable()

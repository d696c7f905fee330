"""Ports of the 2015 MapReduce tests (``src/mapreduce/test_test.go``, ``src/main/test-wc.sh``).

The 2015 setup: one input file holding the numbers 0..99 999, one per line, split into
``nMap`` = 100 map tasks, ``nReduce`` = 50; map emits every word with an empty value, and the
merged output must hold exactly the 100 000 numbers, in order as strings. In 2015 the master
pushed jobs to registered workers; here workers pull them (as from 2020 on), and a worker
that "dies after 10 RPCs" is one that accepts ten tasks and dies holding the eleventh, which
the coordinator must give to another worker. The master's job statistics (``checkWorker``)
are the counts each worker reports to the coordinator.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from faultlab.mr.files import output_lines, split_file
from faultlab.mr.sequential import run_sequential
from faultlab.mr.simulate import SimJob, build_job, run_job

N_NUMBER, N_MAP, N_REDUCE = 100_000, 100, 50


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("numbers")
    numbers = folder / "824-mrinput.txt"
    numbers.write_text("".join(f"{i}\n" for i in range(N_NUMBER)))
    return split_file(numbers, N_MAP, folder)


def check(workdir: Path) -> None:
    """The merged output holds every number once, sorted as strings."""
    keys = [line.split(" ", 1)[0] for line in output_lines(workdir)]
    assert len(keys) == N_NUMBER
    assert keys == sorted(str(i) for i in range(N_NUMBER))


def test_split_covers_the_input_at_line_boundaries(chunks: list[Path]) -> None:
    assert len(chunks) == N_MAP
    text = "".join(p.read_text() for p in chunks)
    assert text == "".join(f"{i}\n" for i in range(N_NUMBER))
    assert all(p.read_text().endswith("\n") for p in chunks)


def test_basic(tmp_path: Path, chunks: list[Path], seed: int) -> None:
    job = build_job(tmp_path, chunks, "numbers", n_reduce=N_REDUCE, workers=2, seed=seed)
    run = run_job(job)
    assert run.completed
    check(tmp_path)
    jobs = job.coordinator.reported_jobs
    assert sorted(jobs) == ["w0.0", "w1.0"]
    assert all(n > 0 for n in jobs.values()), jobs
    assert sum(jobs.values()) == N_MAP + N_REDUCE  # no failures: every task once


def test_one_failure(tmp_path: Path, chunks: list[Path], seed: int) -> None:
    job = build_job(tmp_path, chunks, "numbers", n_reduce=N_REDUCE, workers=0, seed=seed)
    job.add_worker("w0", max_tasks=10)
    job.add_worker("w1")
    run = run_job(job)
    assert run.completed
    check(tmp_path)
    assert ("w0", 1) in [(name, code) for _, name, code in run.exits]
    assert job.coordinator.reassigned >= 1  # w0's eleventh task went to w1
    jobs = job.coordinator.reported_jobs
    assert jobs["w0.0"] == 10 and jobs["w1.0"] == N_MAP + N_REDUCE - 10


def test_many_failures(tmp_path: Path, chunks: list[Path], seed: int) -> None:
    job = build_job(tmp_path, chunks, "numbers", n_reduce=N_REDUCE, workers=2, seed=seed,
                    max_tasks=10)

    def two_more(job: SimJob) -> None:
        job.add_worker(max_tasks=10)
        job.add_worker(max_tasks=10)

    run = run_job(job, tick=1.0, on_tick=two_more)
    assert run.completed
    check(tmp_path)
    died = [name for _, name, code in run.exits if code == 1]
    assert len(died) >= 2
    jobs = job.coordinator.reported_jobs
    assert all(jobs[f"{name}.0"] == 10 for name in died)  # each died holding its 11th task,
    assert job.coordinator.reassigned >= len(died)        # which had to go to someone else
    assert sum(jobs.values()) >= N_MAP + N_REDUCE


def count_words(text: str) -> Counter:
    """An independent word count: non-letters become spaces, then split."""
    return Counter("".join(c if c.isalpha() else " " for c in text).split())


def test_wc_sequential_top10(tmp_path: Path, books: list[str]) -> None:
    """test-wc.sh: the ten most frequent words of the sequential word count are right."""
    out = tmp_path / "mr-out-0"
    run_sequential("wc", books, out)
    got = [line.split() for line in out.read_text().splitlines()]
    top = sorted(got, key=lambda kv: (-int(kv[1]), kv[0]))[:10]
    expected = count_words("".join(Path(b).read_text() for b in books))
    want = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [(k, int(v)) for k, v in top] == want
    assert re.fullmatch(r"the \d+", " ".join(top[0]))

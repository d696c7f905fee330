"""The files a job shares: intermediates ``mr-X-Y``, outputs ``mr-out-Y``, always complete.

Every file is written to a temporary name in the same folder and renamed into place, so a
reader sees either nothing or a whole file, and a crashed or slow duplicate attempt can only
replace a file with an equally complete one. Temporary files start with ``.mr-tmp-``; a worker
killed mid-write may leave one behind, which nothing ever reads.

An intermediate file holds one map task's output for one reduce bucket as JSON: a list of
``[key, [values...]]`` with each key once, values in the order map produced them. A reduce
task merges the files in map-task order, so ``reduce`` sees every key's values in the same
order as the sequential reference does (input files in order, then emission order).
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

__all__ = ["bucket", "intermediate_name", "output_name", "atomic_write", "group",
           "write_map_output", "read_reduce_input", "format_output", "output_lines",
           "output_files", "intermediate_files", "split_file", "TMP_PREFIX"]

TMP_PREFIX = ".mr-tmp-"


def intermediate_name(map_task: int, reduce_task: int) -> str:
    return f"mr-{map_task}-{reduce_task}"


def output_name(reduce_task: int) -> str:
    return f"mr-out-{reduce_task}"


def bucket(key: str, n_reduce: int) -> int:
    """The reduce task of ``key``: a hash that is the same in every process (not ``hash``)."""
    return (_crc(key) & 0x7FFFFFFF) % n_reduce


_CRC: dict[str, int] = {}  # a worker meets the same keys in every task: hash each once


def _crc(key: str) -> int:
    h = _CRC.get(key)
    if h is None:
        h = zlib.crc32(key.encode("utf-8", "surrogatepass"))
        if len(_CRC) < 1 << 20:
            _CRC[key] = h
    return h


def atomic_write(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape",
                       newline="") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def group(kva: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Values by key, keys in first-seen order, values in emission order."""
    groups: dict[str, list[str]] = {}
    get = groups.get
    for k, v in kva:
        vs = get(k)
        if vs is None:
            groups[k] = [v]
        else:
            vs.append(v)
    return groups


def write_map_output(
    workdir: Path,
    map_task: int,
    n_reduce: int,
    kva: Iterable[tuple[str, str]],
    combine: Callable[[str, list[str]], list[str]] | None = None,
) -> int:
    """Write map task ``map_task``'s output as ``n_reduce`` files (empty buckets included, so
    a reduce task can tell a missing file from an empty one). Returns the number of keys."""
    groups = group(kva)
    buckets: list[list] = [[] for _ in range(n_reduce)]
    known = _CRC.get
    for k, vs in groups.items():  # the hot loop of a map task: bucket() inlined
        h = known(k)
        if h is None:
            if not isinstance(k, str):
                raise TypeError(f"map produced a key that is not a string: {k!r}")
            h = _crc(k)
        buckets[(h & 0x7FFFFFFF) % n_reduce].append((k, combine(k, vs) if combine else vs))
    for y, items in enumerate(buckets):
        atomic_write(workdir / intermediate_name(map_task, y),
                     json.dumps(items, ensure_ascii=False, separators=(",", ":")))
    return len(groups)


def read_reduce_input(workdir: Path, reduce_task: int, n_map: int) -> dict[str, list[str]]:
    """Every map task's values for the keys of bucket ``reduce_task``, merged in task order."""
    groups: dict[str, list[str]] = {}
    get = groups.get
    for x in range(n_map):
        path = workdir / intermediate_name(x, reduce_task)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            items = json.load(f)
        for k, vs in items:
            have = get(k)
            if have is None:
                groups[k] = vs
            else:
                have.extend(vs)
    return groups


def format_output(pairs: Iterable[tuple[str, object]]) -> str:
    """Output lines as the labs write them: ``key value``."""
    return "".join(f"{k} {v}\n" for k, v in pairs)


def output_files(workdir: Path) -> list[Path]:
    return sorted(p for p in workdir.glob("mr-out-*") if p.is_file())


def intermediate_files(workdir: Path) -> list[Path]:
    return sorted(p for p in workdir.glob("mr-*-*")
                  if p.is_file() and not p.name.startswith("mr-out-")
                  and _is_intermediate(p.name))


def _is_intermediate(name: str) -> bool:
    parts = name.split("-")
    return len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit()


def output_lines(paths: Iterable[Path] | Path) -> list[str]:
    """The lab's comparison form: every non-empty output line, sorted (``sort mr-out* | grep .``).

    Given a folder, reads its ``mr-out-*`` files."""
    if isinstance(paths, Path) and paths.is_dir():
        paths = output_files(paths)
    lines: list[str] = []
    for p in paths:
        lines.extend(line for line in _lines(p) if line)
    lines.sort()
    return lines


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            yield line.rstrip("\n")


def split_file(path: Path, n: int, outdir: Path) -> list[Path]:
    """Split ``path`` at line boundaries into ``n`` files of about equal size (the 2015 master
    split its one input into ``nMap`` chunks); returns the chunk paths in order."""
    data = path.read_bytes()
    chunks: list[Path] = []
    start = 0
    for i in range(n):
        end = len(data) if i == n - 1 else max(start, (i + 1) * len(data) // n)
        if i < n - 1:
            nl = data.find(b"\n", end)
            end = len(data) if nl < 0 else nl + 1
        chunk = outdir / f"{path.name}.split-{i}"
        chunk.write_bytes(data[start:end])
        chunks.append(chunk)
        start = end
    return chunks

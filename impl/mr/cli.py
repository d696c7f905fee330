"""``faultlab mr ...``: MapReduce jobs as real processes, the reference runner and the corpus.

``mr run`` is the labs' test script in one command: it checks its inputs, starts
``mr coordinator`` and N ``mr worker`` processes on a fresh output folder, relays the
coordinator's progress, and on success leaves exactly the ``mr-out-*`` files. Every user
mistake (a missing input, an app without map/reduce, an output folder that cannot be
written) is reported in one line before anything is written; a job that fails removes what
it wrote. The processes themselves are started and watched by :mod:`faultlab.mr.supervisor`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from faultlab.checker.options import seconds, whole
from faultlab.errors import ArgumentParser, UserError
from faultlab.mr.app import BUILTIN_APPS, App, AppError, load_app
from faultlab.mr.files import TMP_PREFIX, intermediate_files, output_files

__all__ = ["register"]

APP_HELP = (f"the application: a built-in name ({', '.join(BUILTIN_APPS)}), a module path "
            "(pkg.mod) or a .py file, defining map(filename, contents) and reduce(key, values)")


def register(sub: argparse._SubParsersAction) -> None:
    mr = sub.add_parser(
        "mr", help="MapReduce: run jobs as real processes, the sequential reference, a corpus",
        description="MapReduce as in the labs: a coordinator hands out map and reduce tasks "
        "to workers sharing a folder; outputs are mr-out-0 .. mr-out-(R-1), lines 'key value'.")
    sub_mr = mr.add_subparsers(dest="mr_command", metavar="MR_COMMAND",
                               parser_class=ArgumentParser)
    mr.set_defaults(func=lambda args: _help(mr))

    p = sub_mr.add_parser(
        "run", help="run a job with a coordinator and N worker processes",
        description="Start a coordinator and N worker processes on OUT, print progress, and "
        "leave the outputs mr-out-* in OUT (intermediate files are removed unless "
        "--keep-intermediate).")
    _job_arguments(p)
    p.add_argument("--keep-intermediate", action="store_true",
                   help="keep the intermediate files mr-X-Y")
    p.add_argument("--timeout", type=seconds(), default=None,
                   help="give up after this many seconds (default: no limit)")
    p.set_defaults(func=_run)

    p = sub_mr.add_parser(
        "simulate", help="run a job in the simulated world (virtual time, seeded faults)",
        description="Run the same coordinator and workers as nodes of a simulated World: "
        "real files in OUT, virtual time, a seeded network and seeded app randomness, so the "
        "same --seed gives the same run. With --restart, a worker that exits (the crash app "
        "crashes them) is started again a second later, as the labs' crash test does.")
    _job_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--network", choices=["reliable", "unreliable"], default="reliable")
    p.add_argument("--restart", action="store_true",
                   help="restart exited workers after 1 s while the job runs")
    p.set_defaults(func=_simulate)

    p = sub_mr.add_parser(
        "coordinator", help="serve one job's tasks to workers (one process)",
        description="Serve the map tasks (one per FILE) and NREDUCE reduce tasks of one job "
        "to 'faultlab mr worker' processes started on the same folder; exit a second after "
        "the job is done. A task not reported done within --task-timeout seconds is handed "
        "to another worker. File names reach the workers as given: start them in the same "
        "folder, or give absolute paths.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--dir", default=".", help="the job's shared folder (default .)")
    p.add_argument("--nreduce", type=whole(1), default=10)
    p.add_argument("--task-timeout", type=seconds(), default=10.0)
    p.add_argument("--linger", type=seconds(zero=True), default=1.0,
                   help="seconds to keep telling workers to exit once the job is done")
    p.set_defaults(func=_coordinator)

    p = sub_mr.add_parser(
        "worker", help="run tasks for the coordinator of a folder (one process)",
        description="Ask the coordinator serving DIR for tasks and run them with APP until "
        "the job is done.")
    p.add_argument("app", help=APP_HELP)
    p.add_argument("--dir", default=".", help="the job's shared folder (default .)")
    p.add_argument("--name", default=None, help="worker slot w0..w127 (default: first free)")
    p.add_argument("--give-up", type=seconds(), default=5.0, metavar="SECONDS",
                   help="exit after this long without an answer from the coordinator "
                   "(it is gone: the job is over); default 5")
    p.set_defaults(func=_worker)

    p = sub_mr.add_parser(
        "sequential", help="the sequential reference run of an app (the expected output)",
        description="Map every FILE in order, group by key and reduce each key in sorted "
        "order in one process; write 'key value' lines to OUT.")
    p.add_argument("app", help=APP_HELP)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", default="mr-out-0", help="output file (default ./mr-out-0)")
    p.set_defaults(func=_sequential)

    p = sub_mr.add_parser(
        "sample-corpus", help="write the deterministic built-in input corpus",
        description="Write eight text files (named like the labs' books) of synthetic text "
        "with Zipf-distributed word frequencies; the same seed and size give the same bytes.")
    p.add_argument("dir", help="folder to write (created if missing)")
    p.add_argument("--mb", type=float, default=4.0, help="total size in MB (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--files", type=whole(1, 1000), default=8,
                   help="number of files (default 8)")
    p.set_defaults(func=_sample_corpus)


def _job_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of a whole job (``run`` and ``simulate``)."""
    p.add_argument("app", help=APP_HELP)
    p.add_argument("files", nargs="+", metavar="FILE", help="input files (one map task each)")
    p.add_argument("--workers", type=whole(1), default=3, help="workers (default 3)")
    p.add_argument("--out", default="mr-output", help="output folder (default ./mr-output)")
    p.add_argument("--nreduce", type=whole(1), default=10, help="reduce tasks (default 10)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier job in OUT")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# ---------------------------------------------------------------------- checks


def check_inputs(files: Sequence[str]) -> list[str]:
    for f in files:
        p = Path(f)
        if not p.exists():
            raise UserError(f"input file {f} does not exist")
        if not p.is_file():
            raise UserError(f"input {f} is not a file")
        if not os.access(p, os.R_OK):
            raise UserError(f"input file {f} cannot be read")
    return list(files)


def check_app(spec: str) -> App:
    try:
        return load_app(spec)
    except AppError as e:
        raise UserError(str(e)) from None


def prepare_outdir(out: str, overwrite: bool) -> bool:
    """Make sure ``out`` is a writable folder without earlier outputs; True if created."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"output folder {out} is a file")
    created = False
    if not path.exists():
        try:
            path.mkdir(parents=True)
        except OSError as e:
            raise UserError(f"output folder {out} cannot be created: {e.strerror}") from None
        created = True
    probe = path / f"{TMP_PREFIX}probe-{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        raise UserError(f"output folder {out} is not writable: {e.strerror}") from None
    old = output_files(path) + intermediate_files(path)
    if old and not overwrite:
        raise UserError(f"output folder {out} already holds outputs of a job "
                        f"({old[0].name}, ...); pass --overwrite or choose another folder")
    for p in old:
        p.unlink()
    return created


def clean_outdir(out: Path, created: bool) -> None:
    """Remove what a failed job wrote (the whole folder if the job created it)."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for p in output_files(out) + intermediate_files(out) + list(out.glob(f"{TMP_PREFIX}*")):
        p.unlink(missing_ok=True)


# ---------------------------------------------------------------------- commands


def _sample_corpus(args: argparse.Namespace) -> int:
    from faultlab.mr.corpus import generate_corpus

    if not 0 < args.mb <= 10_000:  # (NaN fails too)
        raise UserError("--mb must be between 0 and 10000")
    if not 1 <= args.files <= 1000:
        raise UserError("--files must be between 1 and 1000")
    try:
        paths = generate_corpus(args.dir, args.mb, seed=args.seed, files=args.files)
    except OSError as e:
        raise UserError(f"cannot write the corpus to {args.dir}: {e.strerror or e}") from None
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total / 1e6:.1f} MB, to {args.dir}")
    return 0


def _sequential(args: argparse.Namespace) -> int:
    from faultlab.mr.sequential import run_sequential

    files = check_inputs(args.files)
    app = check_app(args.app)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"folder {out.parent} of the output file does not exist")
    if not os.access(out.parent, os.W_OK):
        raise UserError(f"folder {out.parent} of the output file is not writable")
    try:
        pairs = run_sequential(app, files, out)
    except AppError as e:
        raise UserError(str(e), code=1) from None
    except Exception as e:
        raise UserError(_app_failure(app, e), code=1) from None
    print(f"{len(pairs)} keys written to {out}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from faultlab.mr.simulate import LAB_TIMEOUT, build_job, run_job
    from faultlab.sim.network import PROFILES

    files = check_inputs(args.files)
    app = check_app(args.app)
    if not 1 <= args.workers <= 1000:
        raise UserError("--workers must be between 1 and 1000")
    if args.nreduce < 1:
        raise UserError("--nreduce must be at least 1")
    out = Path(args.out)
    created = prepare_outdir(args.out, args.overwrite)
    ok = False
    try:
        job = build_job(out, files, app, n_reduce=args.nreduce, workers=args.workers,
                        seed=args.seed, profile=PROFILES[args.network])
        run = run_job(job, restart_delay=1.0 if args.restart else None)
        ok = run.completed
    except AppError as e:
        raise UserError(str(e), code=1) from None
    except Exception as e:
        raise UserError(_app_failure(app, e), code=1) from None
    finally:
        if not ok:
            clean_outdir(out, created)
    c = job.coordinator
    if not run.completed:
        left = sum(1 for w in job.workers if job.worker(w) is not None)
        raise UserError(f"job not done after {run.virtual_seconds:.0f}s of virtual time "
                        f"({c.summary()}, {left} workers running; try --restart)", code=1)
    crashes = sum(1 for _, _, code in run.exits if code == 1)
    print(f"mr simulate, seed {args.seed}: done at {c.done_at:.1f}s of virtual time "
          f"(limit {LAB_TIMEOUT:g}s): {len(c.maps)} map and {len(c.reduces)} reduce tasks, "
          f"{c.reassigned} reassigned, {crashes} worker crashes, {run.restarts} restarts, "
          f"{job.world.counters.lost} messages lost; outputs in {out}")
    return 0


def _coordinator(args: argparse.Namespace) -> int:
    from faultlab.mr.process import SlotError, run_coordinator

    files = check_inputs(args.files)
    if args.nreduce < 1:
        raise UserError("--nreduce must be at least 1")
    if not Path(args.dir).is_dir():
        raise UserError(f"folder {args.dir} does not exist")
    started = time.monotonic()

    def progress(event: str, c) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {c.summary()}: {event}", flush=True)

    try:
        c = run_coordinator(files, args.dir, args.nreduce, task_timeout=args.task_timeout,
                            linger=args.linger, progress=progress)
    except SlotError as e:
        raise UserError(str(e)) from None
    print(f"job done in {c.done_at or 0:.1f}s: {len(c.maps)} map and {len(c.reduces)} "
          f"reduce tasks, {c.reassigned} reassigned after a timeout", flush=True)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from faultlab.mr.process import SlotError, run_worker

    app = check_app(args.app)
    if not Path(args.dir).is_dir():
        raise UserError(f"folder {args.dir} does not exist")
    try:
        node = run_worker(app, args.dir, name=args.name, give_up=args.give_up)
    except SlotError as e:
        raise UserError(str(e)) from None
    except Exception as e:
        raise UserError(_app_failure(app, e), code=1) from None
    if node.answers == 0:
        raise UserError(f"no coordinator answered on {args.dir} within {args.give_up:g}s "
                        "(start 'faultlab mr coordinator FILES... --dir DIR' first)", code=1)
    return node.exit_code or 0


def _app_failure(app: App, e: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(e.__traceback__)
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
    return f"app {app.name!r} failed{where}: {type(e).__name__}: {e}"


def _run(args: argparse.Namespace) -> int:
    from faultlab.mr.process import coordinator_running, socket_dir
    from faultlab.mr.supervisor import run_processes

    files = check_inputs(args.files)
    check_app(args.app)
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    if args.workers > 128:
        raise UserError("--workers must be at most 128")
    if args.nreduce < 1:
        raise UserError("--nreduce must be at least 1")
    out = Path(args.out)
    created = prepare_outdir(args.out, args.overwrite)
    sockets = socket_dir(out)
    if coordinator_running(sockets):
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise UserError(f"a job is already running on {args.out}")
    started = time.monotonic()
    print(f"mr run: {args.app} on {len(files)} files, {args.workers} workers, "
          f"{args.nreduce} reduce tasks, output in {out}", flush=True)
    ok = False
    try:
        problem = run_processes(args.app, files, out, sockets, workers=args.workers,
                                nreduce=args.nreduce, started=started, timeout=args.timeout)
        if problem is not None:
            raise UserError(f"job failed: {problem}", code=1)
        ok = True
    finally:
        if not ok:
            clean_outdir(out, created)
    for p in out.glob(f"{TMP_PREFIX}*"):  # from workers stopped in the middle of a write
        p.unlink(missing_ok=True)
    removed = 0
    if not args.keep_intermediate:
        for p in intermediate_files(out):
            p.unlink()
            removed += 1
    outputs = output_files(out)
    size = sum(p.stat().st_size for p in outputs)
    print(f"mr run: done in {time.monotonic() - started:.1f}s: {len(outputs)} output files "
          f"({size / 1e6:.2f} MB) in {out}" +
          (f", {removed} intermediate files removed" if removed else ""), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m faultlab.mr.cli ...`` is ``faultlab mr ...`` without the other subsystems'
    commands: the processes ``mr run`` starts import only what they need."""
    parser = ArgumentParser(prog="faultlab")
    register(parser.add_subparsers(dest="command", parser_class=ArgumentParser))
    try:
        args = parser.parse_args(["mr", *(sys.argv[1:] if argv is None else argv)])
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"faultlab: error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

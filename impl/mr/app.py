"""Application plugins and the small context they may use.

A MapReduce application is a Python module with two functions, as in the labs' plugins::

    def map(filename: str, contents: str) -> Iterable[tuple[str, str]]: ...
    def reduce(key: str, values: list[str]) -> str: ...

Most apps need nothing else. The labs' test apps also sleep, crash their worker, read the
clock, draw random numbers and look at which workers are alive; done with real time and global
randomness that would make a simulated run irreproducible. So such an app declares a
keyword-only ``ctx`` parameter and gets an :class:`AppContext`, whose clock, generator and
sleeps belong to the driver: virtual and seeded in simulation, real in a process. Because a
simulated worker cannot block, an app that waits is written as a generator that yields
``ctx.sleep(seconds)`` and ``return``\\ s its result; the worker turns each sleep into a timer.

An app may also define ``combine(key, values) -> list[str]``: the MapReduce paper's combiner,
applied by the worker to each map task's output for one key before it is written. It must not
change what ``reduce`` computes (the sequential reference never calls it).
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import inspect
import random
import sys
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

__all__ = ["App", "AppContext", "AppError", "Sleep", "WorkerExit", "load_app", "BUILTIN_APPS",
           "cycle_collector_paused"]

BUILTIN_APPS = ("wc", "indexer", "crash", "nocrash", "mtiming", "rtiming", "jobcount",
                "early_exit", "numbers")


class AppError(ValueError):
    """An application cannot be loaded or misbehaved (not a bug of the worker)."""


class WorkerExit(Exception):  # noqa: N818 (it is a request, like SystemExit)
    """Raised by :meth:`AppContext.exit`: the worker stops at once, as ``os.Exit`` would."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Sleep:
    """What a waiting app yields: the worker resumes it after ``seconds`` of driver time."""

    seconds: float


@dataclass
class AppContext:
    """The driver-owned services an app may use (see the module docstring).

    ``worker`` names this worker incarnation (the process id in process mode), unique over
    the whole job and free of spaces, so apps can use it in keys and file names.
    """

    worker: str
    workdir: Path
    clock: Callable[[], float]
    random: random.Random
    is_alive: Callable[[str], bool] = field(default=lambda worker: True)
    calls: int = 0  # map/reduce calls this worker has started, the current one included

    def now(self) -> float:
        return self.clock()

    def sleep(self, seconds: float) -> Sleep:
        """``yield ctx.sleep(s)`` waits ``s`` seconds of driver time."""
        return Sleep(max(0.0, float(seconds)))

    def exit(self, code: int = 1) -> NoReturn:
        """End this worker abruptly (the labs' ``os.Exit(1)`` in the crash app)."""
        raise WorkerExit(code)

    def alive(self, worker: str) -> bool:
        """Whether the worker incarnation named ``worker`` is still running."""
        return self.is_alive(worker)


Step = Generator[float, None, Any]


class App:
    """A loaded application; ``call_map``/``call_reduce`` are generators yielding sleeps."""

    def __init__(self, module: ModuleType, name: str) -> None:
        self.module = module
        self.name = name
        fns = {}
        for fn_name in ("map", "reduce"):
            fn = getattr(module, fn_name, None)
            if not callable(fn):
                raise AppError(f"app {name!r} has no function {fn_name}(...)")
            fns[fn_name] = fn
        self._map, self._reduce = fns["map"], fns["reduce"]
        combine = getattr(module, "combine", None)
        self.combine: Callable[[str, list[str]], list[str]] | None = (
            combine if callable(combine) else None)
        self._map_ctx = _wants_ctx(self._map)
        self._reduce_ctx = _wants_ctx(self._reduce)

    def call_map(self, filename: str, contents: str, ctx: AppContext) -> Step:
        return self._call(self._map, self._map_ctx, (filename, contents), ctx)

    def call_reduce(self, key: str, values: list[str], ctx: AppContext) -> Step:
        return self._call(self._reduce, self._reduce_ctx, (key, values), ctx)

    def _call(self, fn: Callable, wants_ctx: bool, args: tuple, ctx: AppContext) -> Step:
        ctx.calls += 1
        out = fn(*args, ctx=ctx) if wants_ctx else fn(*args)
        if inspect.isgenerator(out):
            out = yield from _drive(out, self.name)
        return out

    @property
    def plain_reduce(self) -> bool:
        """True when reduce neither takes a context nor can wait (a fast path applies)."""
        return not self._reduce_ctx and not inspect.isgeneratorfunction(self._reduce)

    def reduce_fn(self) -> Callable[[str, list[str]], Any]:
        return self._reduce

    def __repr__(self) -> str:
        return f"App({self.name!r})"


def _wants_ctx(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "ctx" in params


def _drive(gen: Generator, name: str) -> Step:
    """Pass an app generator's sleeps up to the worker; its return value is the result."""
    reply = None
    while True:
        try:
            req = gen.send(reply)
        except StopIteration as stop:
            return stop.value
        if isinstance(req, Sleep):
            yield req.seconds
        elif isinstance(req, (int, float)) and not isinstance(req, bool):
            yield max(0.0, float(req))
        else:
            raise AppError(f"app {name!r} yielded {req!r}; a waiting app yields ctx.sleep(s)")


def load_app(spec: str) -> App:
    """Load an app by built-in name (``wc``), module path (``pkg.mod``) or file (``x.py``)."""
    if not spec:
        raise AppError("no app given")
    if spec.endswith(".py") or "/" in spec or spec.startswith("."):
        path = Path(spec)
        if not path.is_file():
            raise AppError(f"app file {spec} does not exist")
        mod_name = f"_faultlab_mr_app_{zlib.crc32(str(path.resolve()).encode()):08x}"
        module = sys.modules.get(mod_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise AppError(f"app file {spec} cannot be loaded as Python")
            module = importlib.util.module_from_spec(loader_spec)
            try:
                loader_spec.loader.exec_module(module)
            except Exception as e:
                raise AppError(f"app file {spec} failed to load: "
                               f"{type(e).__name__}: {e}") from None
            sys.modules[mod_name] = module
        return App(module, path.stem)
    name = f"faultlab.mr.apps.{spec}" if spec in BUILTIN_APPS else spec
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and name.startswith(e.name):
            raise AppError(f"no app {spec!r}: not a built-in app "
                           f"({', '.join(BUILTIN_APPS)}), a module or a .py file") from None
        raise AppError(f"app {spec!r} failed to load: {e}") from None
    except Exception as e:
        raise AppError(f"app {spec!r} failed to load: {type(e).__name__}: {e}") from None
    return App(module, spec)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Run app code without Python's cyclic garbage collector.

    A map task allocates millions of small tuples, strings and lists that form no reference
    cycles (reference counting frees them), yet every few hundred allocations the collector
    walks the young ones and, ever so often, the whole heap. Paused, the 50 MB word count's
    eight map tasks take 5.8 s of CPU instead of 7.0 s. The sequential reference runs the same
    way, so the benchmark compares like with like.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()

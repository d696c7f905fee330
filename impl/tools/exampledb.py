"""Where explorations keep their counterexamples: a Hypothesis example database.

A folder by default (``.faultlab/examples``, or ``examples`` in ``$FAULTLAB_REPLAY_DIR``
when that is set, so a test's private replay folder holds its database too), any folder
given, or a Redis server (``redis://HOST:PORT[/DB]``, Hypothesis's own RedisExampleDatabase;
the ``redis`` client is the optional extra ``faultlab[redis]``), so campaigns on several
machines replay each other's failures first. ``none`` keeps no database.
"""

from __future__ import annotations

import os
from pathlib import Path

from faultlab.errors import UserError
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

__all__ = ["DEFAULT_DATABASE", "default_database", "open_database", "check_database"]

DEFAULT_DATABASE = ".faultlab/examples"


def default_database() -> str:
    """``$FAULTLAB_REPLAY_DIR/examples`` when that is set, else :data:`DEFAULT_DATABASE`."""
    folder = os.environ.get("FAULTLAB_REPLAY_DIR")
    return str(Path(folder) / "examples") if folder else DEFAULT_DATABASE


def open_database(spec: str | None) -> ExampleDatabase | None:
    """The database ``spec`` names (see the module's docstring); None for ``none``/None."""
    if spec is None or spec == "none":
        return None
    if spec.startswith("redis://"):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise UserError(f"--database {spec}: the redis client is not installed "
                            "(pip install 'faultlab[redis]')") from None
        return RedisExampleDatabase(redis.Redis.from_url(spec))
    if "://" in spec:
        raise UserError(f"--database {spec}: a folder, redis://HOST:PORT, or none")
    return DirectoryBasedExampleDatabase(Path(spec))


def check_database(spec: str | None) -> None:
    """Open ``spec`` once and reach it, so that a wrong folder or an unreachable Redis is one
    line from the command, not an error in every worker."""
    db = open_database(spec)
    if db is None:
        return
    if spec is not None and spec.startswith("redis://"):
        import redis

        try:
            db.redis.ping()  # type: ignore[attr-defined]
        except redis.RedisError as e:
            raise UserError(f"--database {spec}: cannot reach Redis: {e}") from None
        return
    try:
        Path(spec).mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    except OSError as e:
        raise UserError(f"--database {spec}: cannot create the folder: {e.strerror}") from None

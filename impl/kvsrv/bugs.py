"""Seeded bugs of kvsrv, as subclasses of the correct server and clerk: each is a mistake a
student's Lab 2 makes, and the tests must catch every one. ``BUGS`` maps a bug's name to the
keyword arguments (``server=`` or ``clerk=``) that put it into :func:`~faultlab.kvsrv.
cluster.build`.

* :class:`IgnoreVersion`: the server writes every Put, whatever its version.
* :class:`ReplyCache`: the server remembers every Put it answered, value and reply, keyed by
  clerk and call, and never forgets (the 2024 lab's duplicate table without its trimming):
  memory grows with every client and every Put.
* :class:`RetriedErrVersionAsOK`: the clerk reports a resent Put's ErrVersion as OK.
* :class:`NoErrMaybe`: the clerk reports a resent Put's ErrVersion as ErrVersion.
"""

from __future__ import annotations

from typing import Any

from faultlab.kv.messages import ERR_VERSION, OK, PUT, Op
from faultlab.kvsrv.clerk import Clerk
from faultlab.kvsrv.messages import PutArgs, PutReply
from faultlab.kvsrv.server import KVServer

__all__ = ["BUGS", "IgnoreVersion", "ReplyCache", "RetriedErrVersionAsOK", "NoErrMaybe"]


class IgnoreVersion(KVServer):
    def put(self, msg: PutArgs) -> str:
        return self.store.execute(Op(PUT, msg.key, msg.value))[0]


class ReplyCache(KVServer):
    def on_start(self) -> None:
        super().on_start()
        self.replies: dict[tuple[str, int], tuple[str, str]] = {}

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, PutArgs):
            done = self.replies.get((src, msg.rid))
            if done is None:
                done = self.replies[(src, msg.rid)] = (msg.value, self.put(msg))
            self.ctx.send(src, PutReply(msg.rid, done[1]))
        else:
            super().on_message(src, msg)


class RetriedErrVersionAsOK(Clerk):
    def put_outcome(self, err: str) -> str:
        return OK if err == ERR_VERSION and self.resent else err


class NoErrMaybe(Clerk):
    def put_outcome(self, err: str) -> str:
        return err


BUGS: dict[str, dict[str, type]] = {
    "ignore_version": {"server": IgnoreVersion},
    "reply_cache": {"server": ReplyCache},
    "retried_err_version_as_ok": {"clerk": RetriedErrVersionAsOK},
    "no_err_maybe": {"clerk": NoErrMaybe},
}

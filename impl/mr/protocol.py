"""The coordinator's RPCs. Workers ask; the coordinator never calls a worker (as in 2020-22).

A worker numbers its requests (``seq``) and resends one until it is answered, so a lost
request or reply costs a retry, never a second task: the coordinator answers a repeated
``seq`` with the reply it already gave.
"""

from __future__ import annotations

from faultlab.sim.messages import message

__all__ = ["MAP", "REDUCE", "WAIT", "EXIT", "MrAskTask", "MrTask", "MrReport", "MrReportAck"]

MAP, REDUCE, WAIT, EXIT = "map", "reduce", "wait", "exit"


@message
class MrAskTask:
    worker: str     # the worker incarnation (for statistics and logs)
    seq: int
    jobs_done: int  # tasks this worker incarnation finished so far (the 2015 job count)


@message(reply=True)
class MrTask:
    seq: int
    kind: str       # MAP, REDUCE, WAIT (ask again later) or EXIT (the job is done)
    task: int = -1
    attempt: int = 0
    file: str = ""  # the input file of a map task
    n_map: int = 0
    n_reduce: int = 0


@message
class MrReport:
    worker: str
    seq: int
    kind: str
    task: int
    attempt: int
    jobs_done: int


@message(reply=True)
class MrReportAck:
    seq: int

"""``faultlab serve kv``, ``faultlab cluster kv`` and ``faultlab kv``: the replicated key/value
service as real processes, and a client for it.

One ``serve`` per host makes a cluster across machines (give every host the same
``--config`` file); ``cluster`` starts a whole cluster on this machine and shows who leads;
``kv`` makes one call. Mistakes (a bad peer list, a port in use, a node not in the config)
are one-line errors.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from faultlab.checker.options import seconds, whole
from faultlab.errors import ArgumentParser, UserError
from faultlab.kv.cluster_config import ClusterConfig, cluster_from, format_peers
from faultlab.kv.local_cluster import LocalCluster
from faultlab.kv.messages import APPEND, GET, PUT

__all__ = ["register"]

EXAMPLES = """\
examples:
  faultlab cluster kv --nodes 3
  faultlab kv put greeting hello --cluster s0=127.0.0.1:7000,s1=127.0.0.1:7001,s2=127.0.0.1:7002
  faultlab serve kv --id s0 --config cluster.toml --data /var/lib/faultlab/s0
"""


def _wrapped(text: str) -> str:
    """A description for a parser that keeps its epilog's examples as written."""
    return textwrap.fill(text, 78)


def register(sub: argparse._SubParsersAction) -> None:
    _register_serve(sub)
    _register_cluster(sub)
    _register_kv(sub)
    _register_nemesis(sub)


def _service(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", choices=["kv"], help="the service to run: kv (the replicated "
                   "key/value store)")


def _register_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="run one server of a real cluster (one process, TCP)",
        description=_wrapped("Run one server of a replicated key/value cluster until SIGTERM or "
        "Ctrl-C. The cluster is a peer list (--peers) or a TOML file (--config) naming every "
        "server's HOST:PORT; the server listens on its own. Its state is written to --data "
        "(an append-only log, each save fdatasynced before anything that depends on it is "
        "sent), and a server started again on the same "
        "folder resumes from it. It prints one line per change of role, term, leader or "
        "snapshot and per connection lost or regained; <data>/<id>.events.jsonl has the "
        "same as JSON lines."),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _service(p)
    p.add_argument("--id", required=True, help="this server's name in the cluster")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--peers", metavar="ID=HOST:PORT,...",
                       help="every server of the cluster, this one included")
    where.add_argument("--config", metavar="FILE", help="a TOML cluster file (one line per "
                       "node under [nodes]; optional cluster, engine, maxraftstate)")
    p.add_argument("--data", required=True, metavar="DIR", help="this server's data folder")
    _cluster_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the server's randomness "
                   "(election timeouts)")
    p.add_argument("--seeded-bug", default=None, metavar="NAME",
                   help="run a server with a known bug, to check that a test catches it "
                   "(no_duplicate_detection, local_get, snapshot_without_duplicates, "
                   "reply_for_any_command)")
    p.add_argument("--stop-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_serve)


def _cluster_options(p: argparse.ArgumentParser, defaults: bool = False) -> None:
    p.add_argument("--engine", choices=["raft", "paxos"],
                   default="raft" if defaults else None,
                   help="consensus engine (default raft, or the config file's)")
    p.add_argument("--cluster-id", default="faultlab" if defaults else None, metavar="NAME",
                   help="the cluster's id: nodes and clients of another id are refused "
                   "(default faultlab, or the config file's)")
    p.add_argument("--maxraftstate", type=whole(-1), default=None, metavar="BYTES",
                   help="snapshot once the log's persisted state reaches this size "
                   "(default 65536; -1 never)")


def _register_cluster(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster", help="start a local cluster of server processes and show who leads",
        description=_wrapped("Start N 'faultlab serve' processes on 127.0.0.1, print their "
        "addresses and the --cluster argument for clients, and show who leads as it "
        "changes. Ctrl-C (or --for) stops them all; none is left behind, even if this "
        "command is killed."),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _service(p)
    p.add_argument("--nodes", type=int, choices=[1, 3, 5, 7], default=3)
    p.add_argument("--data", metavar="DIR", default=None,
                   help="keep the servers' data here (default: a temporary folder, removed "
                   "at the end)")
    p.add_argument("--base-port", type=whole(1, 65535 - 7), default=None, metavar="PORT",
                   help="servers listen on PORT, PORT+1, ... (default: free ports)")
    p.add_argument("--for", dest="duration", type=seconds(), default=None, metavar="SECONDS",
                   help="stop after this long (default: until Ctrl-C)")
    _cluster_options(p, defaults=True)
    p.set_defaults(func=_cluster)


def _register_kv(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kv", help="one get, put or append on a real key/value cluster",
        description=_wrapped("Make one call on a key/value cluster as a clerk: it finds the server "
        "that takes proposals and retries until one answers. get prints the value (an empty "
        "line for a missing key); put and append print OK. With no answer within --timeout "
        "the exit code is 1 and a put or append may or may not have taken effect."),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ops = p.add_subparsers(dest="kv_op", metavar="OP", parser_class=ArgumentParser,
                           required=True)
    for op, helptext in ((GET, "print the value of KEY"), (PUT, "set KEY to VALUE"),
                         (APPEND, "append VALUE to KEY's value")):
        q = ops.add_parser(op, help=helptext, description=helptext)
        q.add_argument("key")
        if op != GET:
            q.add_argument("value")
        q.add_argument("--cluster", required=True, metavar="ID=HOST:PORT,...|FILE",
                       help="the servers, as a peer list or a TOML cluster file")
        q.add_argument("--cluster-id", default=None, metavar="NAME",
                       help="the cluster's id (default faultlab, or the file's)")
        q.add_argument("--timeout", type=seconds(), default=10.0,
                       help="seconds to wait for an answer (default 10)")
        q.set_defaults(func=_kv)


def _register_nemesis(sub: argparse._SubParsersAction) -> None:
    from faultlab.kv.nemesis import FAULTS

    p = sub.add_parser(
        "nemesis", help="attack a local cluster of real processes; audit the history",
        description="Start a local cluster (server-to-server traffic through proxies), "
        "make calls with several clerks while killing (SIGKILL, then restart), pausing "
        "(SIGSTOP) and partitioning servers, heal, read every key, and check the whole "
        "history for linearizability (open calls included; undecided is a failure) and "
        "every acknowledged append for presence. Exit 0 when all holds, 1 otherwise. The "
        "seed fixes the faults and the operations; the timing is the machine's.")
    _service(p)
    p.add_argument("--nodes", type=int, choices=[3, 5, 7], default=3)
    p.add_argument("--engine", choices=["raft", "paxos"], default="raft")
    p.add_argument("--seconds", type=seconds(), default=30.0,
                   help="how long clerks and faults run (default 30)")
    p.add_argument("--clients", type=whole(1, 64), default=5)
    p.add_argument("--max-ops", type=whole(1), default=20_000)
    p.add_argument("--seed", type=int, default=None, help="default: a fresh one, printed")
    p.add_argument("--faults", default=",".join(FAULTS), metavar="F,F,...",
                   help=f"any of {', '.join(FAULTS)}; '' for none (default all)")
    p.add_argument("--seeded-bug", default=None, metavar="NAME",
                   help="run servers with a known bug: the run should fail")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="servers' data, logs and history.jsonl (default: a new temporary "
                   "folder, kept and printed)")
    p.set_defaults(func=_nemesis)


# ---------------------------------------------------------------------- handlers

def _config(args: argparse.Namespace) -> ClusterConfig:
    try:
        config = cluster_from(args.config) if getattr(args, "config", None) else \
            cluster_from(getattr(args, "peers", None) or args.cluster)
        return config.with_options(engine=getattr(args, "engine", None),
                                   cluster=args.cluster_id,
                                   maxraftstate=getattr(args, "maxraftstate", None))
    except ValueError as e:
        raise UserError(str(e)) from None


def _serve(args: argparse.Namespace) -> int:
    from faultlab.kv.bugs import BUGS
    from faultlab.kv.process import serve
    from faultlab.kv.server import KVServer

    config = _config(args)
    if args.id not in config.nodes:
        raise UserError(f"--id {args.id}: not a node of the cluster (it has "
                        f"{', '.join(config.names)})")
    server = KVServer
    if args.seeded_bug is not None:
        if args.seeded_bug not in BUGS:
            raise UserError(f"--seeded-bug {args.seeded_bug}: unknown (known: "
                            f"{', '.join(BUGS)})")
        server = BUGS[args.seeded_bug]
    host, port = config.nodes[args.id]
    try:
        serve(config, args.id, args.data, seed=args.seed, server=server,
              stop_on_eof=args.stop_on_stdin_eof)
    except OSError as e:
        raise UserError(f"{args.id}: cannot serve at {host}:{port} with data in "
                        f"{args.data}: {e.strerror or e}", code=1) from None
    return 0


def _cluster(args: argparse.Namespace) -> int:
    temporary = args.data is None
    data = Path(tempfile.mkdtemp(prefix="faultlab-cluster-") if temporary else args.data)
    ports = None if args.base_port is None else [args.base_port + i for i in range(args.nodes)]
    options = {} if args.maxraftstate is None else {"maxraftstate": args.maxraftstate}
    try:
        data.mkdir(parents=True, exist_ok=True)
        cluster = LocalCluster(args.nodes, data, engine=args.engine, cluster=args.cluster_id,
                               ports=ports, log_to_files=False, **options)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot set up the cluster in {data}: {e}") from None
    config = cluster.config
    print(f"faultlab cluster: {args.nodes} kv servers on {config.engine}, cluster "
          f"{config.cluster!r}, data in {data}{' (removed at the end)' if temporary else ''}")
    for name in config.names:
        host, port = config.nodes[name]
        print(f"  {name}  {host}:{port}")
    id_option = f" --cluster-id {config.cluster}" if config.cluster != "faultlab" else ""
    print(f"clients: faultlab kv get KEY --cluster {format_peers(config.nodes)}{id_option}")
    print("Ctrl-C stops the cluster.", flush=True)
    try:
        cluster.start()
        return _watch(cluster, args.duration)
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()
        print(f"faultlab cluster: stopped {len(cluster.procs)} servers", flush=True)
        if temporary:
            shutil.rmtree(data, ignore_errors=True)


def _watch(cluster: LocalCluster, duration: float | None) -> int:
    """Tell who leads as it changes; end when a server dies or ``duration`` passes."""
    end = None if duration is None else time.monotonic() + duration
    told = None
    while end is None or time.monotonic() < end:
        exited = cluster.exited()
        if exited:
            name, code = sorted(exited.items())[0]
            print(f"faultlab cluster: {name} exited with code {code}; stopping",
                  file=sys.stderr, flush=True)
            return 1
        now = cluster.leader()
        if cluster.config.engine == "paxos":
            now = ("every server", 0) if now else None
        if now != told and now is not None:
            who, term = now
            print(f"leader: {who}" + (f" (term {term})" if term else " proposes (paxos)"),
                  flush=True)
            told = now
        time.sleep(0.2)
    return 0


def _nemesis(args: argparse.Namespace) -> int:
    import random

    from faultlab.kv.bugs import BUGS
    from faultlab.kv.nemesis import FAULTS, NemesisOptions, run_nemesis

    faults = tuple(f for f in args.faults.split(",") if f)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise UserError(f"--faults: unknown fault {unknown[0]!r} (known: {', '.join(FAULTS)})")
    if args.seeded_bug is not None and args.seeded_bug not in BUGS:
        raise UserError(f"--seeded-bug {args.seeded_bug}: unknown (known: {', '.join(BUGS)})")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="faultlab-nemesis-"))
    if data.exists() and any(data.iterdir()):
        raise UserError(f"--data {data}: not empty (a run writes its servers' data there)")
    options = NemesisOptions(nodes=args.nodes, engine=args.engine, seconds=args.seconds,
                             max_ops=args.max_ops, clients=args.clients, seed=seed,
                             faults=faults, seeded_bug=args.seeded_bug)
    report = run_nemesis(options, data, lambda line: print(line, flush=True))
    return 0 if report.ok else 1


def _kv(args: argparse.Namespace) -> int:
    from faultlab.kv.process import call_once

    config = _config(args)
    call = {"op": args.kv_op, "key": args.key}
    if args.kv_op != GET:
        call["value"] = args.value
    record = call_once(config, call, args.timeout)
    if not record.done:
        maybe = "" if args.kv_op == GET else f"; the {args.kv_op} may or may not have " \
            "taken effect"
        raise UserError(f"no answer from the cluster within {args.timeout:g} s{maybe}",
                        code=1)
    print(record.output if args.kv_op == GET else "OK")
    return 0

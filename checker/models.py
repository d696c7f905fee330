"""Sequential specifications that histories are checked against.

A model is a deterministic state machine: ``init()`` gives the start state and
``step(state, input, output)`` says whether ``input`` may produce ``output`` in ``state`` and
which state follows. States must be hashable and compare by value, because the search caches
(linearized set, state) pairs. ``output`` is ``UNKNOWN`` for an open operation and must then
match anything. ``partition`` splits a history into independent sub-histories
(P-compositionality) so each can be checked alone.

Writing one takes a few lines::

    class Counter(Model):
        name = "counter"
        def init(self): return 0
        def step(self, state, inp, out):
            if inp["op"] == "incr":
                return True, state + 1
            return out is UNKNOWN or out == state, state
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from .history import UNKNOWN, Operation, is_key

__all__ = [
    "MODELS",
    "UNKNOWN",
    "CasRegister",
    "Independent",
    "KV",
    "Model",
    "MultiRegister",
    "Mutex",
    "Queue",
    "Register",
    "SetModel",
    "VersionedKV",
    "VersionedRegister",
    "get_model",
    "overridden_hint",
]


class Model:
    """Base class with the defaults; subclasses override ``init`` and ``step``."""

    name = "model"

    def init(self) -> Any:
        """The state before any operation."""
        return None

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        """Whether ``input`` may return ``output`` in ``state``, and the next state."""
        raise NotImplementedError

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]] | None:
        """Independent sub-histories, or None when the history cannot be split."""
        return None

    def understands(self, input: Any) -> bool:
        """Whether ``input`` is an operation of this model at all. ``check`` refuses a
        history with one it does not understand (bad input, not a verdict: a ``:txn`` given
        to a register is a mistake of the caller, not a linearizability violation)."""
        return True

    # Optional pruning hints. The defaults prune nothing; overriding them makes the search
    # faster, and wrong answers here make it wrong, so keep them exact.

    def is_read_only(self, input: Any, output: Any) -> bool:
        """True when the operation, whenever ``step`` allows it, leaves the state unchanged
        (a read, a failed cas). The search then linearizes it as soon as it is allowed."""
        return False

    def overwrites(self, input: Any, read_input: Any) -> bool:
        """True when ``input`` sets everything ``read_input`` can observe, whatever it was
        before (a write for a register read; a put of the same key for a get)."""
        return False

    def may_become(self, state: Any, input: Any, output: Any) -> bool:
        """Whether operations that do not overwrite could still turn ``state`` into one where
        ``input`` may return ``output``. False lets the search drop the branch unless an
        overwriting operation can still come first; when unsure, return True. Asked only
        about read-only operations."""
        return True

    def observes(self, input: Any, read_input: Any, read_output: Any) -> bool:
        """Whether this read's output could show the effect of ``input``. Return False only
        when it cannot; an open operation whose effect no read shows is then never tried
        (it must have failed, or been overwritten unseen). Only reads can tell: use this hint
        only when every operation other than reads is allowed in every state."""
        return True

    def describe_operation(self, input: Any, output: Any) -> str:
        """Short text for an operation in reports and the HTML view."""
        if isinstance(input, dict) and "op" in input:
            args = ", ".join(_show(v) for k, v in input.items() if k != "op")
            text = f"{input['op']}({args})"
        else:
            text = _show(input)
        if output is not None and output is not UNKNOWN:
            text += f" -> {_show(output)}"
        elif output is UNKNOWN:
            text += " -> ?"
        return text

    def describe_state(self, state: Any) -> str:
        """Short text for a state in reports and the HTML view."""
        return _show(state)

    def __repr__(self) -> str:
        return f"<model {self.name}>"


def overridden_hint(model: Any, hint: str) -> Callable[..., Any] | None:
    """The model's pruning hint ``hint`` (``may_become``, ``observes``) when it differs from
    the base class's: the default prunes nothing, so the search need not even call it."""
    method = getattr(model, hint, None)
    if method is None or getattr(method, "__func__", None) is getattr(Model, hint):
        return None
    return method


def _show(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(_show(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _matches(output: Any, value: Any) -> bool:
    return output is UNKNOWN or output == value


class Register(Model):
    """A read/write register: ``{"op": "read"} -> v`` and ``{"op": "write", "value": v}``."""

    name = "register"

    def __init__(self, initial: Any = None) -> None:
        self.initial = initial

    def init(self) -> Any:
        return self.initial

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        if input["op"] == "write":
            return True, input["value"]
        if input["op"] == "read":
            return _matches(output, state), state
        return False, state

    def is_read_only(self, input: Any, output: Any) -> bool:
        return input.get("op") == "read"

    def understands(self, input: Any) -> bool:
        return _has(input, read=(), write=("value",))

    def overwrites(self, input: Any, read_input: Any) -> bool:
        return input.get("op") == "write"

    def may_become(self, state: Any, input: Any, output: Any) -> bool:
        return _matches(output, state)  # only writes change a register

    def observes(self, input: Any, read_input: Any, read_output: Any) -> bool:
        return _matches(read_output, input.get("value"))


class CasRegister(Model):
    """etcd's register: starts absent (None); read, write, and cas returning True/False.

    A cas applies ``to`` exactly when the state equals ``from``; its boolean output must say
    whether it did. An open cas may or may not have run, so either outcome is allowed.
    """

    name = "cas-register"

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input["op"]
        if op == "read":
            return output is UNKNOWN or output == state, state
        if op == "write":
            return True, input["value"]
        if op == "cas":
            hit = state == input["from"]
            if output is UNKNOWN:
                return True, (input["to"] if hit else state)
            return (output is True) == hit, (input["to"] if hit else state)
        return False, state

    def is_read_only(self, input: Any, output: Any) -> bool:
        op = input.get("op")
        return op == "read" or (op == "cas" and (output is False or input["from"] == input["to"]))

    def understands(self, input: Any) -> bool:
        return _has(input, read=(), write=("value",), cas=("from", "to"))

    def describe_state(self, state: Any) -> str:
        return "absent" if state is None else _show(state)


class KV(Model):
    """A string key/value map: get (missing key reads ""), put and append; split per key.

    The state is a sorted tuple of (key, value) pairs, so it stays hashable; after
    partitioning it holds a single key, which keeps each step cheap.
    """

    name = "kv"

    def init(self) -> Any:
        return ()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        key = input["key"]
        cur = ""
        pos = -1
        for i, (k, v) in enumerate(state):
            if k == key:
                cur = v
                pos = i
                break
        op = input["op"]
        if op == "get":
            return output is UNKNOWN or output == cur, state
        if op == "put":
            new = input["value"]
        elif op == "append":
            new = cur + input["value"]
        else:
            return False, state
        if pos >= 0:
            return True, state[:pos] + ((key, new),) + state[pos + 1:]
        return True, tuple(sorted(state + ((key, new),)))

    def is_read_only(self, input: Any, output: Any) -> bool:
        return input.get("op") == "get"

    def understands(self, input: Any) -> bool:
        return _has(input, get=("key",), put=("key", "value"), append=("key", "value"))

    def overwrites(self, input: Any, read_input: Any) -> bool:
        return input.get("op") == "put" and input.get("key") == read_input.get("key")

    def may_become(self, state: Any, input: Any, output: Any) -> bool:
        # Appends only extend a value: a get can still succeed if it reads an extension.
        if input.get("op") != "get" or output is UNKNOWN or not isinstance(output, str):
            return True
        key = input["key"]
        for k, v in state:
            if k == key:
                return output.startswith(v)
        return True

    def observes(self, input: Any, read_input: Any, read_output: Any) -> bool:
        if input.get("key") != read_input.get("key"):
            return False
        if read_output is UNKNOWN or not isinstance(read_output, str):
            return True
        if input.get("op") == "put":
            return read_output.startswith(input.get("value", ""))
        return input.get("value", "") in read_output

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]]:
        return _by_key(history)

    def describe_operation(self, input: Any, output: Any) -> str:
        op, key = input["op"], input["key"]
        if op == "get":
            shown = "?" if output is UNKNOWN or output is None else json.dumps(output)
            return f"get({json.dumps(key)}) -> {shown}"
        return f"{op}({json.dumps(key)}, {json.dumps(input.get('value'))})"

    def describe_state(self, state: Any) -> str:
        return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in state) + "}"


class SetModel(Model):
    """A set: ``add``/``remove`` a value; ``read`` returns all members (any order)."""

    name = "set"

    def init(self) -> Any:
        return frozenset()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input["op"]
        if op == "add":
            return True, state | {_hashable(input["value"])}
        if op == "remove":
            return True, state - {_hashable(input["value"])}
        if op == "read":
            if output is UNKNOWN:
                return True, state
            try:
                return frozenset(_hashable(v) for v in output) == state, state
            except TypeError:
                return False, state
        return False, state

    def is_read_only(self, input: Any, output: Any) -> bool:
        return input.get("op") == "read"

    def understands(self, input: Any) -> bool:
        return _has(input, read=(), add=("value",), remove=("value",))


class Queue(Model):
    """A FIFO queue: ``enqueue`` a value; ``dequeue`` returns the head, or None when empty."""

    name = "queue"

    def init(self) -> Any:
        return ()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input["op"]
        if op == "enqueue":
            return True, state + (_hashable(input["value"]),)
        if op == "dequeue":
            head = state[0] if state else None
            ok = output is UNKNOWN or _hashable(output) == head
            return ok, state[1:]
        return False, state

    def understands(self, input: Any) -> bool:
        return _has(input, enqueue=("value",), dequeue=())


class Mutex(Model):
    """A lock: ``acquire`` succeeds only when free, ``release`` only when held."""

    name = "mutex"

    def init(self) -> Any:
        return False

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input["op"]
        if op == "acquire":
            return not state, True
        if op == "release":
            return state, False
        return False, state

    def understands(self, input: Any) -> bool:
        return _has(input, acquire=(), release=())

    def describe_state(self, state: Any) -> str:
        return "held" if state else "free"


def _by_key(history: Sequence[Operation]) -> list[list[Operation]]:
    """The operations per ``input["key"]``, in order of first appearance."""
    groups: dict[Any, list[Operation]] = defaultdict(list)
    for op in history:
        groups[op.input["key"]].append(op)
    return list(groups.values())


def _has(input: Any, **fields: tuple[str, ...]) -> bool:
    """Whether ``input`` is a dict whose ``op`` is one of ``fields``' names, with that
    operation's fields (``_has(inp, read=(), write=("value",))``)."""
    if type(input) is not dict:
        return False
    need = fields.get(input.get("op"))  # type: ignore[arg-type]
    return need is not None and all(f in input for f in need)


def _hashable(value: Any) -> Any:
    """JSON values as hashable ones (lists become tuples), for use inside states."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class Independent(Model):
    """Many independent instances of a base model, one per key (Jepsen's ``independent``).

    An input is the base model's input plus ``"key"``; the state is a sorted tuple of
    (key, base state) pairs for the keys touched so far (the others are at the base model's
    start state). The history is partitioned per key, and the base model's pruning hints
    apply within a key. ``Independent("cas-register")`` (a name or a model instance) is what
    ``independent-cas-register`` in ``MODELS`` builds.
    """

    def __init__(self, base: Model | str = "register") -> None:
        self.base = get_model(base)
        self.name = f"independent-{self.base.name}"
        self._start = self.base.init()
        for hint in ("overwrites", "may_become", "observes"):
            if getattr(type(self.base), hint) is getattr(Model, hint):
                setattr(self, hint, getattr(self.base, hint))  # no hint: nor here (rule 5!)

    def init(self) -> Any:
        return ()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        key = input["key"]
        for pos, (k, sub) in enumerate(state):
            if k == key:
                ok, new = self.base.step(sub, input, output)
                if not ok or new == sub:
                    return ok, state
                rest = state[:pos] + state[pos + 1:]
                break
        else:
            ok, new = self.base.step(self._start, input, output)
            if not ok or new == self._start:
                return ok, state
            rest = state
        if new == self._start:  # one form per state: keys at the start state are left out
            return True, rest
        return True, tuple(sorted(rest + ((key, new),), key=lambda kv: repr(kv[0])))

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]]:
        return _by_key(history)

    def is_read_only(self, input: Any, output: Any) -> bool:
        return self.base.is_read_only(input, output)

    def understands(self, input: Any) -> bool:
        return isinstance(input, dict) and "key" in input and self.base.understands(input)

    def overwrites(self, input: Any, read_input: Any) -> bool:
        return input.get("key") == read_input.get("key") and self.base.overwrites(input,
                                                                                  read_input)

    def may_become(self, state: Any, input: Any, output: Any) -> bool:
        sub = next((s for k, s in state if k == input["key"]), self._start)
        return self.base.may_become(sub, input, output)

    def observes(self, input: Any, read_input: Any, read_output: Any) -> bool:
        return input.get("key") == read_input.get("key") and self.base.observes(
            input, read_input, read_output)

    def describe_operation(self, input: Any, output: Any) -> str:
        rest = {k: v for k, v in input.items() if k != "key"}
        return f"[{_show(input['key'])}] {self.base.describe_operation(rest, output)}"

    def describe_state(self, state: Any) -> str:
        return "{" + ", ".join(f"{_show(k)}: {self.base.describe_state(s)}"
                               for k, s in state) + "}"


class MultiRegister(Model):
    """Registers named by key, read and written by transactions (Knossos's multi-register,
    for Jepsen's ``:txn`` histories): ``{"op": "txn", "value": [["read", k, v], ["write", k,
    v], ...]}``, applied in order, atomically. A completed transaction's output is its list
    as the completion reports it (the reads' values filled in); a read of nil (None) says
    nothing about the register, as in Knossos, where the invocation's reads carry nil, and
    an open transaction's reads are unknown.
    Registers start at None. Keys that never meet in one transaction are independent
    objects, so the history is split into groups of keys connected by transactions.
    """

    name = "multi-register"

    def init(self) -> Any:
        return frozenset()

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        txn = input["value"]
        done = txn if output is UNKNOWN or output is None else output
        if not _same_txn(txn, done):
            raise ValueError(f"the completion's transaction {done!r} is not its call's {txn!r}")
        regs = dict(state)
        for f, key, value in done:
            if f == "write":
                regs[key] = _hashable(value)
            elif value is not None and output is not UNKNOWN and regs.get(key) != _hashable(
                    value):
                return False, state
        new = frozenset((k, v) for k, v in regs.items() if v is not None)  # None: unwritten
        return True, (state if new == state else new)

    def understands(self, input: Any) -> bool:
        if not _has(input, txn=("value",)) or not isinstance(input["value"], list):
            return False
        return all(isinstance(m, list) and len(m) == 3 and m[0] in ("read", "write")
                   and is_key(m[1]) for m in input["value"])

    def is_read_only(self, input: Any, output: Any) -> bool:
        return all(m[0] == "read" for m in input["value"])

    def partition(self, history: Sequence[Operation]) -> list[list[Operation]]:
        parent: dict[Any, Any] = {}

        def root(k: Any) -> Any:
            while parent.setdefault(k, k) != k:
                parent[k] = k = parent[parent[k]]
            return k

        for op in history:
            keys = [m[1] for m in op.input["value"]]
            for k in keys[1:]:
                parent[root(k)] = root(keys[0])
            if keys:
                root(keys[0])
        groups: dict[Any, list[Operation]] = defaultdict(list)
        for op in history:  # a transaction of no operation belongs with nothing: own group
            keys = op.input["value"]
            groups[root(keys[0][1]) if keys else ("empty", id(op))].append(op)
        return list(groups.values())

    def describe_operation(self, input: Any, output: Any) -> str:
        done = input["value"] if output is UNKNOWN or output is None else output
        text = "txn[" + ", ".join(f"{f[0]} {_show(k)} {_show(v)}" for f, k, v in done) + "]"
        return text + (" ?" if output is UNKNOWN else "")

    def describe_state(self, state: Any) -> str:
        return "{" + ", ".join(f"{_show(k)}: {_show(v)}"
                               for k, v in sorted(state, key=lambda kv: repr(kv[0]))) + "}"


def _same_txn(call: list[Any], done: Any) -> bool:
    """A completion reports its call's transaction: same steps, same keys, same writes."""
    return (isinstance(done, list) and len(done) == len(call)
            and all(isinstance(d, list) and len(d) == 3 and d[0] == c[0] and d[1] == c[1]
                    and (c[0] == "read" or d[2] == c[2]) for c, d in zip(call, done, strict=True)))


VERSIONED_OK, ERR_VERSION, ERR_NO_KEY, ERR_MAYBE = "OK", "ErrVersion", "ErrNoKey", "ErrMaybe"


class VersionedRegister(Model):
    """One key of the 2025 labs' versioned store (6.5840 kvsrv): a value and a version, the
    number of writes so far (0: the key does not exist, and its value is "").

    * ``{"op": "get"}`` returns ``(value, version, "OK")``, or ``(_, _, "ErrNoKey")`` for a
      missing key (a list is accepted too, as JSON gives it);
    * ``{"op": "put", "value": v, "version": n}`` writes ``v`` and bumps the version when
      ``n`` is the current version, returning ``"OK"``; otherwise it changes nothing and
      returns ``"ErrNoKey"`` (missing key, ``n`` > 0) or ``"ErrVersion"``.

    ``"ErrMaybe"`` is a clerk's answer after its retried Put met ErrVersion: the first try
    may have applied, or another write got in first. Either way the Put was executed inside
    its interval (the retry reached the server), so at its linearization point it took
    effect exactly when the version matched: the step applies it then and changes nothing
    otherwise (as the course's own Porcupine model does). Which of the two happened is the
    search's choice of point, so both "had taken effect" and "had not" are accepted, and a
    history that needs an ErrMaybe Put to have taken effect where it could not is refused.
    An open Put (never returned, ``UNKNOWN``) is the same, and may also never take effect.
    """

    name = "versioned-register"

    def init(self) -> Any:
        return ("", 0)

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        value, version = state
        op = input["op"]
        if op == "get":
            if output is UNKNOWN:
                return True, state
            got = _versioned_get(output)
            if got is None:
                return False, state
            if version == 0:
                return got[2] == ERR_NO_KEY, state
            return got == (value, version, VERSIONED_OK), state
        if op == "put":
            wanted = input["version"]
            if wanted == version:
                return _write_output(output, VERSIONED_OK), (input["value"], version + 1)
            refused = ERR_NO_KEY if version == 0 and wanted > 0 else ERR_VERSION
            return _write_output(output, refused), state
        return False, state

    def is_read_only(self, input: Any, output: Any) -> bool:
        op = input.get("op")
        return op == "get" or (op == "put" and output in (ERR_VERSION, ERR_NO_KEY))

    def may_become(self, state: Any, input: Any, output: Any) -> bool:
        """Versions only grow, and a version has one value: a read of version n can still
        succeed while the key is below n, and at n only if it holds the value read."""
        version = state[1]
        if input.get("op") == "put":  # a refused Put: ErrVersion can come back whenever the
            return output != ERR_NO_KEY or version == 0  # key exists, ErrNoKey only before
        got = _versioned_get(output)
        if got is None:
            return True
        if got[2] == ERR_NO_KEY:
            return version == 0
        return version < got[1] or (state == got[:2] and got[2] == VERSIONED_OK)

    def understands(self, input: Any) -> bool:
        return _has(input, get=(), put=("value", "version")) and (
            input["op"] == "get" or type(input["version"]) is int)

    def describe_operation(self, input: Any, output: Any) -> str:
        return _describe_versioned(input, output, ())

    def describe_state(self, state: Any) -> str:
        return "absent" if state[1] == 0 else f"({_show(state[0])}, v{state[1]})"


def _describe_versioned(input: Any, output: Any, key: tuple) -> str:
    """``get(k) -> ("v", v3)``, ``put(k, "v", v2) -> "OK"`` (``key``: () or (k,))."""
    if input["op"] == "get":
        got = None if output is UNKNOWN else _versioned_get(output)
        shown = "?" if got is None else (
            got[2] if got[2] != VERSIONED_OK else f"({_show(got[0])}, v{got[1]})")
        return f"get({', '.join(map(_show, key))}) -> {shown}"
    args = [*map(_show, key), _show(input["value"]), f"v{input['version']}"]
    return f"put({', '.join(args)}) -> {'?' if output is UNKNOWN else _show(output)}"


def _versioned_get(output: Any) -> tuple[Any, Any, Any] | None:
    """A versioned Get's output as a (value, version, error) tuple; None when malformed."""
    if isinstance(output, list | tuple) and len(output) == 3:
        return tuple(output)  # type: ignore[return-value]
    return None


def _write_output(output: Any, definite: str) -> bool:
    """A versioned Put may answer its definite error code, ErrMaybe, or nothing (open)."""
    return output is UNKNOWN or output == definite or output == ERR_MAYBE


class VersionedKV(Independent):
    """The versioned key/value store of the 2025 labs: a :class:`VersionedRegister` per key,
    inputs ``{"op": "get", "key": k}`` and ``{"op": "put", "key": k, "value": v,
    "version": n}``; split per key."""

    def __init__(self) -> None:
        super().__init__(VersionedRegister())
        self.name = "versioned-kv"

    def describe_operation(self, input: Any, output: Any) -> str:
        return _describe_versioned(input, output, (input["key"],))


#: Built-in models by name; each entry builds a fresh instance.
MODELS: dict[str, Callable[[], Model]] = {
    "register": Register,
    "cas-register": CasRegister,
    "kv": KV,
    "set": SetModel,
    "queue": Queue,
    "mutex": Mutex,
    "versioned-kv": VersionedKV,
    "multi-register": MultiRegister,
}
MODELS.update({f"independent-{name}": partial(Independent, name)
               for name in ("register", "cas-register", "set", "queue", "mutex")})


def get_model(model: Model | str) -> Model:
    """A model instance from an instance or a registered name (KeyError names the choices)."""
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        try:
            return MODELS[model]()
        except KeyError:
            choices = ", ".join(sorted(MODELS))
            raise KeyError(f"unknown model {model!r} (known: {choices})") from None
    if hasattr(model, "init") and hasattr(model, "step"):
        return _Adapted(model)
    raise TypeError(f"not a model: {model!r}")


class _Adapted(Model):
    """A duck-typed model (any object with init and step) with the defaults filled in."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self.init = inner.init  # type: ignore[method-assign]
        self.step = inner.step  # type: ignore[method-assign]
        for hook in ("partition", "describe_operation", "describe_state", "is_read_only",
                     "understands",
                     "overwrites", "may_become", "observes"):
            if hasattr(inner, hook):
                setattr(self, hook, getattr(inner, hook))

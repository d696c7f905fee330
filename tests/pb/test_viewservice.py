"""Port of the 2015 ``src/viewservice/test_test.go`` (Test1, 9 steps), in virtual time.

Three viewservice clerks ck1..ck3 ping as if they were servers; each step polls for at most
DeadPings x 2 (or x 3) ping intervals, as the Go test does.
"""

from __future__ import annotations

import pytest
from faultlab.pb.cluster import RELIABLE_2015, add_view_clerk
from faultlab.pb.common import DEAD_PINGS, PING_INTERVAL
from pb_harness import Lab


@pytest.fixture
def lab(seed: int) -> Lab:
    lab = Lab(seed, RELIABLE_2015)
    for ck in ("ck1", "ck2", "ck3"):
        add_view_clerk(lab.world, ck)
    return lab


def test_Test1(lab: Lab) -> None:
    def ping(ck: str, viewnum: int) -> tuple[int, str, str]:
        return lab.call(ck, {"op": "ping", "viewnum": viewnum})

    def get(ck: str) -> tuple[int, str, str]:
        return lab.call(ck, {"op": "get"})

    def check(step: str, ck: str, p: str, b: str, n: int) -> None:
        num, primary, backup = get(ck)
        lab.expect(primary == p, f"{step}: wanted primary {p!r}, got {primary!r}")
        lab.expect(backup == b, f"{step}: wanted backup {b!r}, got {backup!r}")
        lab.expect(n == 0 or n == num, f"{step}: wanted viewnum {n}, got {num}")
        lab.expect(get(ck)[1] == p, f"{step}: ck.Primary() is not {p!r}")  # ck.Primary()

    def sleep() -> None:
        lab.sleep(PING_INTERVAL)

    lab.expect(get("ck1")[1] == "", "there was a primary too soon")

    step = "First primary"
    for _ in range(DEAD_PINGS * 2):
        if ping("ck1", 0)[1] == "ck1":
            break
        sleep()
    check(step, "ck1", "ck1", "", 1)

    step = "First backup"
    vx = get("ck1")
    for _ in range(DEAD_PINGS * 2):
        ping("ck1", 1)
        if ping("ck2", 0)[2] == "ck2":
            break
        sleep()
    check(step, "ck1", "ck1", "ck2", vx[0] + 1)

    step = "Backup takes over if primary fails"
    ping("ck1", 2)
    vx = ping("ck2", 2)
    for _ in range(DEAD_PINGS * 2):
        v = ping("ck2", vx[0])
        if v[1] == "ck2" and v[2] == "":
            break
        sleep()
    check(step, "ck2", "ck2", "", vx[0] + 1)

    step = "Restarted server becomes backup"
    vx = get("ck2")
    ping("ck2", vx[0])
    for _ in range(DEAD_PINGS * 2):
        ping("ck1", 0)
        v = ping("ck2", vx[0])
        if v[1] == "ck2" and v[2] == "ck1":
            break
        sleep()
    check(step, "ck2", "ck2", "ck1", vx[0] + 1)

    # ck3 starts, the primary ck2 dies: ck1 takes over and ck3 becomes backup in a single
    # view change, with no view in between that has no backup.
    step = "Idle third server becomes backup if primary fails"
    vx = get("ck2")
    ping("ck2", vx[0])
    for _ in range(DEAD_PINGS * 2):
        ping("ck3", 0)
        v = ping("ck1", vx[0])
        if v[1] == "ck1" and v[2] == "ck3":
            break
        vx = v
        sleep()
    check(step, "ck1", "ck1", "ck3", vx[0] + 1)

    # The primary is killed and restarted at once: it pings 0 but must be treated as dead.
    step = "Restarted primary treated as dead"
    vx = get("ck1")
    ping("ck1", vx[0])
    for _ in range(DEAD_PINGS * 2):
        ping("ck1", 0)
        ping("ck3", vx[0])
        if get("ck3")[1] != "ck1":
            break
        sleep()
    vy = get("ck3")
    lab.expect(vy[1] == "ck3", f"{step}: expected primary ck3, got {vy[1]!r}")

    step = "Dead backup is removed from view"
    for _ in range(DEAD_PINGS * 3):
        vx = get("ck3")
        ping("ck3", vx[0])
        sleep()
    v = get("ck3")
    lab.expect(v[1] == "ck3" and v[2] == "", f"{step}: wrong primary or backup {v}")

    # View (ck3, ck1) forms but ck3 never acknowledges it, then dies: ck1 stays backup.
    step = "Viewserver waits for primary to ack view"
    vx = get("ck1")
    for _ in range(DEAD_PINGS * 3):
        ping("ck1", 0)
        ping("ck3", vx[0])
        if get("ck1")[0] > vx[0]:
            break
        sleep()
    check(step, "ck1", "ck3", "ck1", vx[0] + 1)
    vy = get("ck1")
    for _ in range(DEAD_PINGS * 3):
        if ping("ck1", vy[0])[0] > vy[0]:
            break
        sleep()
    check(step, "ck2", "ck3", "ck1", vy[0])

    # Old servers die; a server that only ever pinged 0 must not become primary.
    step = "Uninitialized server can't become primary"
    for _ in range(DEAD_PINGS * 2):
        v = get("ck1")
        ping("ck1", v[0])
        ping("ck2", 0)
        ping("ck3", v[0])
        sleep()
    for _ in range(DEAD_PINGS * 2):
        ping("ck2", 0)
        sleep()
    vz = get("ck2")
    lab.expect(vz[1] != "ck2", f"{step}: uninitialized backup promoted to primary")

"""Longer exploration (``pytest -m deep``): the randomized lab tests over many seeds.

The lab suites are run many times to gain confidence (``go test -count``); here each run is
a seed, so ``FAULTLAB_DEEP_SEEDS`` (default 20) seeds per test replace repeated runs, and a
failure names its seed.
"""

from __future__ import annotations

import os

import pytest
import test_2c
import test_2d
from raft_tester import Config

SEEDS = range(int(os.environ.get("FAULTLAB_DEEP_SEEDS", "20")))
RANDOMIZED = {
    "figure8_2c": test_2c.test_figure8_2c,
    "figure8_unreliable_2c": test_2c.test_figure8_unreliable_2c,
    "unreliable_agree_2c": test_2c.test_unreliable_agree_2c,
    "reliable_churn_2c": test_2c.test_reliable_churn_2c,
    "unreliable_churn_2c": test_2c.test_unreliable_churn_2c,
    "snapshot_install_unreliable_2d": test_2d.test_snapshot_install_unreliable_2d,
    "snapshot_install_uncrash_2d": test_2d.test_snapshot_install_uncrash_2d,
}


@pytest.mark.deep
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(RANDOMIZED))
def test_randomized_lab_tests_over_seeds(name, seed):
    made = []

    def make_config(n, unreliable=False, snapshot=False):
        cfg = Config(f"{name}[seed {seed}]", n, unreliable, snapshot, seed=seed)
        made.append(cfg)
        return cfg

    try:
        RANDOMIZED[name](make_config)
    finally:
        for cfg in made:
            cfg.cleanup()

"""faultlab's own suite gets its Hypothesis profiles (FAULTLAB_PROFILE: ci, dev, deep), the
``deep`` and ``browser`` markers, the ``seed`` and ``replays`` fixtures, ``--faultlab-seeds``
and the seed reports of failing tests from faultlab's pytest plugin,
faultlab.tools.pytest_plugin, which installing faultlab registers (entry point ``pytest11``),
as it does for any protocol test suite built on faultlab. Nothing here is specific to this
suite beyond that."""

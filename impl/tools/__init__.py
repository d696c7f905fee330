"""faultlab.tools: the drivers and judges of runs (explorer, bounded search, shrinker, replay,
diagrams, traces, workloads, the registry of machines). They stand on the runtime
(:mod:`faultlab.sim`) and may use the checker; the runtime never imports them."""

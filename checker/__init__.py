"""faultlab checker: linearizability, history formats, visualization, TLA+ conformance."""

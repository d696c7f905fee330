"""faultlab: the systems under test and the runtime they run on."""

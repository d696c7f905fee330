"""faultlab.mr: MapReduce, as in the labs: a coordinator hands out map and reduce tasks, workers run
application plugins and share a file system. The same coordinator and worker nodes run under
the simulated World (virtual time) and as real processes (``faultlab mr ...``)."""

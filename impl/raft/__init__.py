"""faultlab.raft: Raft as in Figure 2 of the extended paper, as a sans-IO component a host node
embeds (:mod:`faultlab.raft.raft`), its host server and clerk, its safety checks and its
Hypothesis machines. See README.md beside this file."""

"""faultlab.pb: the 2015 lab 2 viewservice and primary/backup key/value service.

:mod:`faultlab.pb.viewservice` decides views, :mod:`faultlab.pb.server` is the replicated store,
:mod:`faultlab.pb.clerk` the clients, :mod:`faultlab.pb.cluster` assembles them in a World and
:mod:`faultlab.pb.explore` is the Hypothesis state machine that attacks them.
"""

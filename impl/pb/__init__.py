"""impl.pb: the 2015 lab 2 viewservice and primary/backup key/value service.

:mod:`impl.pb.viewservice` decides views, :mod:`impl.pb.server` is the replicated store,
:mod:`impl.pb.clerk` the clients, :mod:`impl.pb.cluster` assembles them in a World and
:mod:`impl.pb.explore` is the Hypothesis state machine that attacks them.
"""

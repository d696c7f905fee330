"""The labs' MapReduce applications (2020-22 ``src/mrapps``), plus the 2015 test's ``numbers``.

Apps that wait, crash or look at time use the :class:`faultlab.mr.app.AppContext` they are given,
never real time or global randomness, so they behave the same in simulation and processes.
"""

"""Rule 8: independent groups of operations, found from the model's ``step`` alone.

A hard search is split into groups of operations that looked independent, each group is
checked alone, and then the answer is *certified*, so a wrong guess costs time, never a
wrong verdict:

* ``groups``: ``discover`` guesses the groups (operations that fail to ``commute`` at a state
  met on a greedy run of the history are joined);
* ``certify``: ``merge_orders`` and ``replay`` prove OK, ``explains`` tells which groups a
  failed one may depend on;
* ``split``: ``search_with_groups`` runs the plain search with ``search_groups`` beside it.

Standard library only.
"""

from .certify import Witness, explains, merge_orders, replay
from .groups import Groups, commute, discover
from .split import MOST_IN_ONE_GROUP, search_groups, search_with_groups

__all__ = ["MOST_IN_ONE_GROUP", "Groups", "Witness", "commute", "discover", "explains",
           "merge_orders", "replay", "search_groups", "search_with_groups"]

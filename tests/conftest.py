"""Settings for this repository's own tests.

Hypothesis fails an example that takes more than 200 ms by default: on a shared 2-CPU machine (a tune or the
lab running beside the unit tier) that measures the machine, not the parser under test, so the deadline is off.
"""

from hypothesis import settings

settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

"""No telemetry: DLR's phone-home switched off before anything in this process imports dlr.

The PyPI ``dlr`` wrapper (neo-ai/neo-ai-dlr, python/dlr/counter/phone_home.py) posts device information
to an AWS endpoint, with no timeout, at its first import and at every model load, unless
``dlr/counter/ccm_config.json`` holds ``{"enable_phone_home": false}``; when the file is missing, the
first import writes ``true`` and leaves it on for good. A wheel cannot run code at install time, so
``hil`` and the pytest plugin call :func:`phone_home_off` first thing, in every environment they run in.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.runtime.venv import disable_phone_home
from harness.runtime.wheels import RuntimeBuildError


def phone_home_off() -> Path | None:
    """Write the opt-out into this environment's dlr; the config file written, or None without dlr.

    Never fails the caller: an unwritable site-packages is reported on stderr (dlr then cannot switch
    itself on either, since it writes the same file).
    """
    try:
        return disable_phone_home()
    except RuntimeBuildError:  # dlr is not installed here: nothing can phone home
        return None
    except OSError as exc:
        print(f"hil: cannot switch DLR phone-home off ({exc}); write {{\"enable_phone_home\": false}} into "
              "dlr/counter/ccm_config.json of this environment", file=sys.stderr)
        return None

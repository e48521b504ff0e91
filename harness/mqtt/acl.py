"""Who may use which topic on the lab broker: AWS IoT Core's per-thing policy, as mosquitto ACL files.

IoT Core scopes a thing with a policy (``iot:Connect`` on its own client id, ``iot:Publish`` /
``iot:Subscribe`` / ``iot:Receive`` on its own topics). The broker does the same with the certificate's CN
as the username and the client id (``use_identity_as_username``, ``use_username_as_clientid``) and the
``pattern`` rules below, where mosquitto puts the username in place of ``%u``
(eclipse/mosquitto v2.0.11 src/security_default.c, ``mosquitto_acl_check_default``).
"""

from __future__ import annotations

import re

#: The root of every result topic: ``ml/dlr/<kind>/<thing>[/...]``, as AWS's DLR samples name theirs.
RESULTS_ROOT = "ml/dlr"
#: The harness's own identity (CN of its certificate, from its own CA: see harness.mqtt.lab).
HARNESS_THING = "harness"

_LEVEL = re.compile(r"[A-Za-z0-9_.:-]{1,128}", re.ASCII)  # one topic level: no "/", "+", "#", no spaces

#: Each thing reads and writes its own topics only; nothing else (no ``#``, no other thing's topics).
THINGS_ACL = f"""# written by edge-hil: a thing (certificate CN = username = client id) uses only its own topics
pattern readwrite {RESULTS_ROOT}/+/%u
pattern readwrite {RESULTS_ROOT}/+/%u/#
"""

#: The harness reads every thing's results and may publish nothing.
HARNESS_ACL = f"""# written by edge-hil: the harness's subscriber reads results, publishes nothing
user {HARNESS_THING}
topic read {RESULTS_ROOT}/#
"""


def thing_topic(kind: str, thing: str, *rest: str) -> str:
    """``ml/dlr/<kind>/<thing>[/<rest>...]``: a topic only ``thing`` may publish on (and the harness read).

    Raises ValueError for a level that is empty or holds ``/``, ``+``, ``#`` or other characters.
    """
    for level in (kind, thing, *rest):
        if not _LEVEL.fullmatch(level):
            raise ValueError(f"topic level {level[:60]!r} must be 1-128 of A-Z a-z 0-9 _ . : -")
    return "/".join((RESULTS_ROOT, kind, thing, *rest))

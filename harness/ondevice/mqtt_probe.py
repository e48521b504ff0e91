"""Publish QoS 1 messages stamped with ``time.time()`` with the core's thing certificate, paced then back to back.

``mqtt_probe.py TOPIC COUNT INTERVAL_S`` (as root: the thing key is readable by the components' group
only). Each message is ``{"mode": "paced"|"burst", "i": N, "t": unix time}``; the receiver's own
clock stamps the arrival (benchmarks/mqtt_latency.py). TOPIC must be the thing's own (``ml/dlr/<kind>/<thing>/…``);
the lab broker makes the certificate's CN the client id, so the probe takes over the connection of an
inference component running on the same core: measure on a core without one.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

try:  # imported from the host as harness.ondevice.mqtt_probe
    from . import link
except ImportError:  # run on the device as a script: link.py is shipped beside it
    import link  # type: ignore[no-redef]

GG_ROOT = Path("/greengrass/v2")


def main(argv: list[str] | None = None) -> int:
    topic, count, interval = (argv if argv is not None else sys.argv[1:])[:3]
    endpoint = link.parse_endpoint((GG_ROOT / "iot-endpoint").read_text().strip())
    creds = link.Credentials(GG_ROOT / "thingCert.crt", GG_ROOT / "privKey.key", GG_ROOT / "rootCA.pem")
    connection = link.connect(endpoint, creds, f"latency-probe-{topic.rsplit('/', 1)[-1]}")
    for mode, pause in (("paced", float(interval)), ("burst", 0.0)):
        for i in range(int(count)):
            future, _ = connection.publish(topic, json.dumps({"mode": mode, "i": i, "t": time.time()}), link.QOS1)
            future.result(10)
            time.sleep(pause)
    link.disconnect(connection)
    return 0


if __name__ == "__main__":
    sys.exit(main())

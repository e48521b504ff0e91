"""Where a lab's results go, for the harness and for each device: one place decides, the scenarios'
subscriber and the deployed inference components follow it.

- **The lab's own broker** (harness.mqtt.lab, the default): the harness connects on loopback with its
  certificate from the lab CA; a device gets the endpoint it was provisioned with (``hil lab up`` for
  emulated cores, ``hil lab provision`` for boards).
- **The user's own AWS IoT Core** (``iot: {endpoint, cert, key, ca}`` in the lab file): the harness
  connects to that endpoint with those files; every device to the same endpoint with its own Greengrass
  thing certificate, key and root CA, where its nucleus keeps them (``system.certificateFilePath``,
  ``privateKeyPath``, ``rootCaPath`` of ``<root>/config/effectiveConfig.yaml``; aws-greengrass-nucleus
  DeviceConfiguration.java), as a board running the real nucleus has them.

Only paths travel: the harness never reads a key's content (awscrt does), the recipe carries the
device's paths, and every error names a file, never what is in it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import FailureClass, LabError
from harness.greengrass.builders import IOT_VALUE_RE
from harness.mqtt.provision import destinations, effective_config

if TYPE_CHECKING:
    from harness.lab.device import Device
    from harness.lab.inventory import IoTSpec
    from harness.mqtt.lab import LabIoT
    from harness.mqtt.subscriber import ResultSubscriber
    from harness.ondevice.link import Credentials, LinkError

STEP = "iot route"
#: Greengrass's default component user (``runWithDefault.posixUser``), who runs the inference component.
COMPONENT_USER = "ggc_user"
IOT_CORE_PORT = 8883
_ENV = {"endpoint": "HIL_IOT_ENDPOINT", "cert": "HIL_THING_CERT", "key": "HIL_THING_KEY", "ca": "HIL_ROOT_CA"}
_WHAT = {"cert": ("certificate", "system.certificateFilePath"), "key": ("private key", "system.privateKeyPath"),
         "ca": ("root CA", "system.rootCaPath")}
#: $1 the component user (may not exist), then file paths: one line per problem, MISSING or UNREADABLE.
_CHECK = """set -u
user=$1; shift
for f; do
  if [ ! -e "$f" ]; then echo "MISSING $f"
  elif [ "$(id -u)" = 0 ] && command -v su >/dev/null && id "$user" >/dev/null 2>&1 &&
       ! su -s /bin/sh -c 'test -r "$0"' "$user" "$f"; then
    echo "UNREADABLE $f"
  fi
done
"""


@dataclass(frozen=True)
class DeviceLink:
    """How a component on one device reaches the results endpoint: ``host:port`` and paths on the device."""

    endpoint: str
    cert: str
    key: str
    ca: str

    def environment(self) -> dict[str, str]:
        """The component's HIL_IOT_ENDPOINT, HIL_THING_CERT, HIL_THING_KEY and HIL_ROOT_CA (recipe Setenv)."""
        return {env: getattr(self, name) for name, env in _ENV.items()}


def component_user(config: dict[str, object]) -> str:
    """The posix user the nucleus runs components as (``runWithDefault.posixUser``, ``user[:group]``)."""
    node: object = config
    for key in ("services", "aws.greengrass.Nucleus", "configuration", "runWithDefault", "posixUser"):
        node = node.get(key) if isinstance(node, dict) else None
    return str(node).split(":", 1)[0] if node else COMPONENT_USER


class ResultsRoute:
    """A lab's destination for results: its ``iot:`` section, with the lab's own IoT side for the default."""

    def __init__(self, spec: IoTSpec, lab_iot: LabIoT) -> None:
        self.spec, self.lab_iot = spec, lab_iot

    @property
    def own_core(self) -> bool:
        """True when results go to the user's own AWS IoT Core endpoint."""
        return bool(self.spec.endpoint)

    def endpoint(self) -> tuple[str, int]:
        """The harness's endpoint: the lab file's IoT Core endpoint (port 8883 unless given), else the lab
        broker on loopback (LabError when it is not running)."""
        if self.own_core:
            from harness.ondevice.link import parse_endpoint

            text = str(self.spec.endpoint)
            return parse_endpoint(text if ":" in text else f"{text}:{IOT_CORE_PORT}")
        return self.lab_iot.endpoint

    def credentials(self) -> Credentials:
        """The harness's own certificate, key and CA: the lab file's, else the lab CA's ``harness`` thing."""
        if self.own_core:
            from harness.ondevice.link import Credentials

            return Credentials(self.spec.cert, self.spec.key, self.spec.ca)  # type: ignore[arg-type]
        return self.lab_iot.credentials()

    def advice(self) -> dict[type[LinkError], str]:
        from harness.mqtt.subscriber import LAB_ADVICE
        from harness.ondevice import link

        if not self.own_core:
            return dict(LAB_ADVICE)
        return {
            link.CredentialsError: "iot.cert, iot.key and iot.ca in the lab file must name your certificate, its "
                                   "private key and the CA of the endpoint's server certificate (Amazon Root CA 1)",
            link.EndpointUnreachable: f"check iot.endpoint ({self.spec.endpoint}: your account's "
                                      "`aws iot describe-endpoint --endpoint-type iot:Data-ATS`) and that this "
                                      "host may open TCP connections to its port",
            link.HandshakeRefused: "the certificate must be ACTIVE in the endpoint's account and region, with a "
                                   "policy allowing iot:Connect, iot:Subscribe and iot:Receive; iot.ca must be "
                                   "the CA that signed the endpoint's server certificate",
        }

    def subscriber(self, topic: str, *, timeout: float = 10.0) -> ResultSubscriber:
        """A subscriber to ``topic`` on this route, as a context manager."""
        from harness.mqtt.subscriber import ResultSubscriber

        return ResultSubscriber(self.endpoint(), self.credentials(), topic, timeout=timeout, advice=self.advice())

    def for_device(self, device: Device, timeout: float = 30) -> DeviceLink:
        """Where ``device``'s components publish, with its thing files checked on the device (present, and
        readable by the component user): LabError naming the file otherwise."""
        config = effective_config(device, timeout)
        paths = destinations(device, timeout, config)
        if self.own_core:
            host, port = self.endpoint()
        else:
            provisioned = self.lab_iot.cores_endpoint()
            if provisioned is None or not self.lab_iot.running():
                raise LabError("the lab's MQTT broker is not running", device=device.name, step=STEP,
                               failure_class=FailureClass.UNREACHABLE, advice="run `hil lab up`")
            host, port = provisioned
        found = DeviceLink(f"{host}:{port}", paths["thingCert.crt"], paths["privKey.key"], paths["rootCA.pem"])
        user = component_user(config)
        result = device.transport.run([*device.root_prefix, "sh", "-c", _CHECK, "check", user, found.cert,
                                       found.key, found.ca], timeout=timeout)
        problems = dict(line.split(" ", 1)[::-1] for line in result.stdout.splitlines() if " " in line)
        if not result.ok:
            raise LabError(f"cannot check the thing certificate files (exit {result.exit_status}): "
                           f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}", device=device.name,
                           step=STEP, failure_class=FailureClass.COMMAND,
                           advice="the device user needs passwordless sudo, or set `sudo: no`")
        for name in ("cert", "key", "ca"):
            path = getattr(found, name)
            if path in problems:
                role, setting = _WHAT[name]
                state = "not found" if problems[path] == "MISSING" else f"not readable by {user}"
                advice = ("install the device's Greengrass thing files (the nucleus installer's "
                          f"--provision, or {setting} in effectiveConfig.yaml)" if self.own_core
                          else f"run `hil lab provision {device.name}`")
                raise LabError(f"the {role} file {path} ({setting}) is {state}", device=device.name, step=STEP,
                               failure_class=FailureClass.INVENTORY, advice=advice)
        for value in found.environment().values():
            if not IOT_VALUE_RE.fullmatch(value):  # the recipe's Setenv takes it as it is
                raise LabError(f"{shlex.quote(value)[:80]} cannot be passed to a component (spaces or braces)",
                               device=device.name, step=STEP, failure_class=FailureClass.INVENTORY)
        return found

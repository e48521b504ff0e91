"""The emulated nucleus daemon: recovers, starts the committed components, serves the CLI socket.

Run as `python -m simulators.greengrass.nucleus --root /greengrass/v2` (normally under the supervisor).
SIGTERM stops every component (Shutdown scripts) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import yaml

from simulators.greengrass.deployment import DeploymentService
from simulators.greengrass.errors import GreengrassError, InvalidArguments, ResourceNotFound
from simulators.greengrass.ipc import MAX_MESSAGE, SOCKET_NAME, read_line
from simulators.greengrass.kernel import Kernel, Settings, kill_orphans
from simulators.greengrass.lifecycle import Timings
from simulators.greengrass.logs import Logs
from simulators.greengrass.platforms import current_platform
from simulators.greengrass.release import CLI_VERSION, NUCLEUS_VERSION
from simulators.greengrass.store import Store

NUCLEUS = "aws.greengrass.Nucleus"
# services a real core lists besides the user's components
BUILTINS = (("DeploymentService", "RUNNING"), ("FleetStatusService", "RUNNING"),
            ("UpdateSystemPolicyService", "RUNNING"), ("TelemetryAgent", "RUNNING"))


def load_settings(root: Path) -> tuple[Settings, dict[str, Any]]:
    path = root / "config" / "config.yaml"
    raw = (yaml.safe_load(path.read_text()) if path.is_file() else None) or {}
    nucleus = (raw.get("services") or {}).get(NUCLEUS) or {}
    conf = nucleus.get("configuration") or {}
    emu = raw.get("emulator") or {}
    run_as = (conf.get("runWithDefault") or {}).get("posixUser", "ggc_user:ggc_group")
    settings = Settings(
        thing_name=str((raw.get("system") or {}).get("thingName", "hil-core")),
        region=str(conf.get("awsRegion", "us-east-1")),
        nucleus_version=str(nucleus.get("version", NUCLEUS_VERSION)),
        run_as=run_as or None,
        platform_override={str(k): str(v) for k, v in (conf.get("platformOverride") or {}).items()},
        timings=Timings(retry_delay=float(emu.get("retryDelaySeconds", 1.0)),
                        broken_after=int(emu.get("brokenAfterErrors", 3)),
                        stop_grace=float(emu.get("stopGraceSeconds", 5.0))),
        settle=float(emu.get("settleSeconds", 2.0)),
        deployment_timeout=float(emu.get("deploymentTimeoutSeconds", 600.0)))
    return settings, conf


class Nucleus:
    def __init__(self, root: Path, crash_at: str | None) -> None:
        self.root = root
        self.store = Store(root)
        self.logs = Logs(root)
        self.settings, self.nucleus_config = load_settings(root)
        self.kernel = Kernel(root, self.settings, self.store, self.logs,
                             current_platform(self.settings.platform_override))
        self.lock = threading.RLock()  # one deployment (or boot, or shutdown) at a time
        self.deployments = DeploymentService(self.kernel, self.store, self.lock, crash_at)

    def boot(self) -> None:
        log = self.logs.main
        log.write("INFO", "com.aws.greengrass.lifecyclemanager.Kernel", "system-start",
                  f"Launched Nucleus (emulated) {self.settings.nucleus_version}", rootPath=self.root)
        killed = kill_orphans(self.root)
        if killed:
            log.write("WARN", "com.aws.greengrass.lifecyclemanager.Kernel", "orphans-killed",
                      f"killed {killed} processes left by a previous nucleus")
        with self.lock:
            self.deployments.recover()
            self.kernel.load(self.store.committed()["components"])
        threading.Thread(target=self.deployments.worker, daemon=True, name="DeploymentService").start()

    # -- requests from greengrass-cli -------------------------------------------------------------
    def handle(self, op: str, args: dict[str, Any]) -> Any:
        if op == "ping":
            return {"version": self.settings.nucleus_version, "pid": os.getpid()}
        if op == "create_deployment":
            return {"deploymentId": self.deployments.submit(args.get("document"))}
        if op == "get_deployment":
            record = self.store.record(_deployment_id(args))
            if record is None:
                raise ResourceNotFound("Cannot find deployment")
            return _summary(record)
        if op == "cancel_deployment":
            return {"message": self.deployments.cancel(_deployment_id(args))}
        if op == "list_deployments":
            return [_summary(r) for r in self.store.records()[-10:]]
        if op == "list_components":
            return self._components()
        if op == "get_component":
            name = args.get("name")
            found = [c for c in self._components() if c["componentName"] == name]
            if not found:
                raise ResourceNotFound(f"Component with name {name} not found in Greengrass")
            return found[0]
        if op in ("restart_components", "stop_components"):
            return self._control(op, args.get("names"))
        raise GreengrassError(f"Unknown operation {op!r}")

    def _control(self, op: str, names: Any) -> dict[str, str]:
        """The CLI sends one request per name in order (NucleusAdapterIpcClientImpl.java:125-156): the names
        before an unknown one are restarted/stopped, then the unknown one fails the command."""
        if not isinstance(names, list) or not names:
            raise ResourceNotFound("Component with name  not found in Greengrass")
        known = []
        for name in names:
            if name not in self.kernel.services:
                self._trigger(op, known)
                raise ResourceNotFound(f"Component with name {name} not found in Greengrass")
            known.append(name)
        self._trigger(op, known)
        return {"status": "SUCCEEDED"}

    def _trigger(self, op: str, names: list[str]) -> None:
        if names:  # asynchronous, like the nucleus: the CLI returns before the component has stopped
            threading.Thread(target=self.kernel.request, args=(op.split("_")[0], names), daemon=True).start()

    def _components(self) -> list[dict[str, Any]]:
        out = [{"componentName": n, "version": "0.0.0", "state": s, "configuration": None} for n, s in BUILTINS]
        out.append({"componentName": NUCLEUS, "version": self.settings.nucleus_version, "state": "FINISHED",
                    "configuration": self.nucleus_config})
        out.append({"componentName": "aws.greengrass.Cli", "version": CLI_VERSION,
                    "state": "RUNNING", "configuration": {}})
        for name, service in sorted(self.kernel.services.items()):
            out.append({"componentName": name, "version": service.spec.version, "state": str(service.state),
                        "configuration": service.spec.configuration})
        return out


def _deployment_id(args: dict[str, Any]) -> str:
    """The request's deployment id as a canonical UUID, with the nucleus's error otherwise."""
    try:
        return str(uuid.UUID(str(args.get("deploymentId"))))
    except ValueError:
        raise InvalidArguments("Invalid deploymentId format received. DeploymentId is a UUID") from None


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("deploymentId", "status", "createdOn", "detailedStatus", "errorStack", "errorTypes", "failureCause")
    return {k: record[k] for k in keys if k in record}


def serve(nucleus: Nucleus) -> socketserver.ThreadingUnixStreamServer:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(30)
            try:
                raw = read_line(self.request)
                req = json.loads(raw[:MAX_MESSAGE])
                if not isinstance(req, dict) or not isinstance(req.get("args", {}), dict):
                    raise GreengrassError("Malformed request")
                reply = {"ok": True, "result": nucleus.handle(str(req.get("op")), req.get("args") or {})}
            except GreengrassError as exc:
                reply = {"ok": False, "error": exc.message, "type": exc.ipc_type}
            except (ValueError, OSError) as exc:
                reply = {"ok": False, "error": f"Malformed request: {exc}"}
            except Exception as exc:  # noqa: BLE001 - answer the CLI instead of dropping the connection
                nucleus.logs.main.write("ERROR", "com.aws.greengrass.ipc.IPCEventStreamService", "ipc-internal-error",
                                        f"{type(exc).__name__}: {exc}")
                reply = {"ok": False, "error": f"Internal error in the emulated nucleus: {type(exc).__name__}: {exc}"}
            try:
                self.request.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass

    path = nucleus.root / SOCKET_NAME
    path.unlink(missing_ok=True)
    old = os.umask(0o077)  # root-only socket: on a board the CLI needs sudo
    try:
        server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
    finally:
        os.umask(old)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="greengrass-nucleus", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("GG_ROOT", "/greengrass/v2")))
    args = parser.parse_args(argv)
    crash_at = os.environ.get("GG_CRASH_AT") or None
    nucleus = Nucleus(args.root.resolve(), crash_at)
    nucleus.boot()
    server = serve(nucleus)
    done = threading.Event()

    def on_term(_sig: int, _frame: object) -> None:
        done.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server.serve_forever(poll_interval=0.1)
    # let a running deployment step finish if it is quick; a journalled deployment is recovered at next start
    locked = nucleus.lock.acquire(timeout=10)
    nucleus.kernel.shutdown()
    if locked:
        nucleus.lock.release()
    (nucleus.root / SOCKET_NAME).unlink(missing_ok=True)
    nucleus.logs.main.write("INFO", "com.aws.greengrass.lifecyclemanager.Kernel", "system-shutdown")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

"""Install, list and remove network faults on the controller, with what each installed kept on disk.

Each device's faults are recorded in ``<state>/faults/<device>.json`` as they are installed (rules,
qdiscs, proxy pids, and the process that owns them), so ``clear`` removes exactly that and a sweep after
a crash finds it. A fault owned by a process that is gone (a test session killed mid-test) is swept;
one added by ``hil fault add`` has no owner and stays until ``hil fault clear``.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness.errors import HilError
from harness.faults import proxy, rules
from harness.faults.model import PROXY_MARK, TAG, Fault, FaultError, FaultInputError, Kind, Link, Target
from harness.lab.paths import state_dir
from harness.primitives.atomic import write_atomically
from harness.primitives.hostcmd import run_controller

COMMAND_TIMEOUT = 15.0
PROXY_START_TIMEOUT = 10.0
TABLES = ("mangle", "nat", "filter")
_GONE = ("does a matching rule exist", "No such file or directory", "Cannot find device", "Invalid handle",
         "Cannot delete qdisc with handle of zero", "No such device")


def faults_dir() -> Path:
    path = state_dir() / "faults"
    path.mkdir(parents=True, exist_ok=True)
    return path


def process_identity(pid: int) -> list[int] | None:
    """``[pid, start time]`` of a live process (its start time tells a reused pid apart), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return [pid, int(stat.rsplit(")", 1)[1].split()[19])]


def _alive(owner: list[int] | None) -> bool:
    return owner is None or process_identity(owner[0]) == owner


def _run(prefix: Sequence[str], argv: Sequence[str], step: str, advice: str | None = None) -> str:
    return run_controller([*prefix, *argv], COMMAND_TIMEOUT, step=step, error=FaultError, advice=advice)


def _undo(prefix: Sequence[str], argv: Sequence[str], step: str) -> None:
    """Run a removal; something already gone (a container restarted, a rule deleted by hand) is fine."""
    try:
        _run(prefix, argv, step)
    except FaultError as exc:
        if not any(word in exc.detail for word in _GONE):
            raise


def _kill_proxy(pid: int) -> None:
    try:
        if proxy.__file__ in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, 15)
            os.waitpid(pid, os.WNOHANG) if _is_child(pid) else None
    except OSError:
        pass


def _is_child(pid: int) -> bool:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (OSError, ValueError, IndexError):
        return False


class Injector:
    """The faults on one target; ``owner`` is this process (a test session) or None (``hil fault add``)."""

    def __init__(self, target: Target, *, owned: bool = True) -> None:
        self.target = target
        self.owner = process_identity(os.getpid()) if owned else None
        self.path = faults_dir() / f"{target.device}.json"

    # -- the record ---------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, object]]]:
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = load(self.path)
            try:
                yield records
            finally:
                self._save(records)

    def _save(self, records: dict[str, dict[str, object]]) -> None:
        if records:
            write_atomically(self.path, json.dumps(records, indent=1).encode(), mode=0o600)
        else:
            self.path.unlink(missing_ok=True)

    def active(self) -> list[Fault]:
        return [Fault.from_dict(r["fault"]) for r in load(self.path).values()]  # type: ignore[arg-type]

    # -- add ----------------------------------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        """Install ``fault``; on any failure what it installed so far is removed again."""
        if os.geteuid() != 0:
            raise FaultError("network faults need root (iptables, tc)", device=self.target.device, step="fault add",
                             advice="run as root, or in a lab whose controller you administer")
        with self._locked() as records:
            if fault.id in records:
                raise FaultInputError(f"{fault.describe()} is already active on {self.target.device}",
                                      device=self.target.device, step="fault add",
                                      advice=f"`hil fault clear {self.target.device} {fault.id}` first")
            record: dict[str, object] = {"fault": fault.as_dict(), "owner": self.owner, "rules": [], "qdiscs": [],
                                         "pids": [], "host_prefix": list(self.target.host_prefix)}
            records[fault.id] = record
            self._save(records)  # before anything is installed: a crash from here on leaves a record
            try:
                self._install(fault, record, records)
            except HilError:
                _remove(record)
                del records[fault.id]
                raise
        return fault

    def _install(self, fault: Fault, record: dict[str, object], records: dict[str, dict[str, object]]) -> None:
        t = self.target
        if fault.kind is Kind.RATE:
            if not (t.host_iface and t.device_iface):
                raise FaultInputError("a rate cap needs the device's own link (an emulated core's veth); this "
                                      "device shares the controller's interface", device=t.device, step="fault add")
            ends = [(t.host_prefix, t.host_iface), (t.device_prefix, t.device_iface)]
            for prefix, iface in ends:
                self._qdisc(record, records, prefix, iface, fault, "tc tbf (sch_tbf)")
            return
        if fault.kind is Kind.LATENCY:
            if fault.link is Link.ALL and t.host_iface and t.device_iface and self._netem(record, records, fault):
                return
            for link in rules.proxied_links(fault):
                if link is Link.BROKER and fault.link is Link.ALL and t.broker_port is None:
                    continue  # no broker in this lab: the controller's link only
                port = self._start_proxy(record, records, fault, link)
                for rule in rules.redirect_rules(t, fault, link, port):
                    self._rule(record, records, rule, "iptables nat REDIRECT")
            return
        mechanism = {Kind.LOSS: "iptables statistic (xt_statistic)", Kind.DOWN: "iptables DROP",
                     Kind.RESET: "iptables connbytes + REJECT tcp-reset (xt_connbytes, nf_reject)"}[fault.kind]
        for rule in rules.filter_rules(t, fault):
            self._rule(record, records, rule, mechanism)

    def _netem(self, record: dict, records: dict, fault: Fault) -> bool:
        """Latency with netem on both ends of the device's link, where the kernel has it (real labs do)."""
        t = self.target
        try:
            self._qdisc(record, records, t.host_prefix, t.host_iface or "", fault, "tc netem (sch_netem)")
        except FaultError:
            return False  # no sch_netem (or a rate cap holds the root): the proxy below
        self._qdisc(record, records, t.device_prefix, t.device_iface or "", fault, "tc netem (sch_netem)")
        return True

    def _missing(self, fault: Fault, mechanism: str, exc: FaultError) -> FaultError:
        return FaultError(f"{fault.describe()}: {mechanism} refused: {exc.detail}", device=self.target.device,
                          step="fault add", failure_class=exc.failure_class,
                          advice="this kernel or iptables lacks the mechanism; docs/reliability.md lists what "
                                 "each fault needs")

    def _rule(self, record: dict, records: dict, rule: rules.Rule, mechanism: str) -> None:
        try:
            _run(self.target.host_prefix, rule.add(), "fault add")
        except FaultError as exc:
            raise self._missing(Fault.from_dict(record["fault"]), mechanism, exc) from None
        record["rules"].append(rule.as_list())
        self._save(records)

    def _qdisc(self, record: dict, records: dict, prefix: Sequence[str], iface: str, fault: Fault,
               mechanism: str) -> None:
        try:
            _run(prefix, rules.qdisc_add(iface, fault), "fault add")
        except FaultError as exc:
            raise self._missing(fault, mechanism, exc) from None
        record["qdiscs"].append({"prefix": list(prefix), "iface": iface})
        self._save(records)

    def _start_proxy(self, record: dict, records: dict, fault: Fault, link: Link) -> int:
        listen = "127.0.0.1" if link is Link.CONTROLLER else "0.0.0.0"  # noqa: S104 - REDIRECT lands on the gateway
        argv = [*self.target.host_prefix, sys.executable, proxy.__file__, "--listen", listen,
                "--rtt-ms", f"{fault.rtt_ms:g}", "--jitter-ms", f"{fault.jitter_ms:g}", "--mark", hex(PROXY_MARK)]
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], PROXY_START_TIMEOUT)
        line = child.stdout.readline().decode().strip() if ready else ""
        child.stdout.close()
        if not line.isdigit():
            child.kill()
            child.wait()
            raise FaultError(f"the latency proxy did not start within {PROXY_START_TIMEOUT:g} s",
                             device=self.target.device, step="fault add", advice=f"run `{' '.join(argv)}` by hand")
        # The proxy lives on past this process (`hil fault add` exits); it is stopped by its pid.
        record["pids"].append(process_identity(child.pid))
        self._save(records)
        return int(line)

    # -- remove -------------------------------------------------------------------------------------
    def remove(self, fault_id: str) -> Fault:
        with self._locked() as records:
            if fault_id not in records:
                have = ", ".join(records) or "none"
                raise FaultInputError(f"no fault {fault_id!r} on {self.target.device} (active: {have})",
                                      device=self.target.device, step="fault clear")
            _remove(records[fault_id])
            return Fault.from_dict(records.pop(fault_id)["fault"])  # type: ignore[arg-type]

    def clear(self) -> list[Fault]:
        """Remove every fault of this device, whoever added it."""
        with self._locked() as records:
            cleared = [Fault.from_dict(r["fault"]) for r in records.values()]  # type: ignore[arg-type]
            for fault_id in list(records):
                _remove(records.pop(fault_id))
        return cleared


def load(path: Path) -> dict[str, dict[str, object]]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _remove(record: dict) -> None:
    """Undo one fault's record, newest first: redirects before their proxies, every qdisc and rule."""
    prefix = record.get("host_prefix", [])
    for data in reversed(record["rules"]):
        _undo(prefix, rules.Rule.from_list(data).delete(), "fault clear")
    for qdisc in reversed(record["qdiscs"]):
        _undo(qdisc["prefix"], rules.qdisc_delete(qdisc["iface"]), "fault clear")
    for identity in record["pids"]:
        if identity and process_identity(identity[0]) == identity:
            _kill_proxy(identity[0])


def sweep(host_prefix: Sequence[str] = (), device_ends: Sequence[tuple[Sequence[str], str]] = ()) -> list[str]:
    """Remove every fault whose owner is gone and every tagged rule or qdisc of ours no record keeps.

    ``device_ends``: (prefix, iface) of devices' own ends, for qdiscs there. Returns what was removed.
    """
    removed: list[str] = []
    kept_tags: set[str] = set()
    kept_qdiscs: set[tuple[tuple[str, ...], str]] = set()
    for path in sorted(faults_dir().glob("*.json")):
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = load(path)
            for fault_id, record in list(records.items()):
                if _alive(record.get("owner")):  # type: ignore[arg-type]
                    kept_tags.add(f"{TAG}:{path.stem}:{fault_id}")
                    kept_qdiscs.update((tuple(q["prefix"]), q["iface"]) for q in record["qdiscs"])  # type: ignore[attr-defined]
                    continue
                _remove(record)
                del records[fault_id]
                removed.append(f"{path.stem}: {Fault.from_dict(record['fault']).describe()}")  # type: ignore[arg-type]
            if records:
                write_atomically(path, json.dumps(records, indent=1).encode(), mode=0o600)
            else:
                path.unlink(missing_ok=True)
    for table in TABLES:
        listing = _run(host_prefix, ["iptables", "-w", rules.IPTABLES_WAIT_S, "-t", table, "-S"], "fault sweep")
        for delete in rules.tagged_deletes(table, listing):
            comment = delete[delete.index("--comment") + 1]
            if comment not in kept_tags:
                _undo(host_prefix, delete, "fault sweep")
                removed.append(f"iptables -t {table}: {comment}")
    ends = [(tuple(host_prefix), iface) for iface in rules.owned_qdiscs(
        _run(host_prefix, ["tc", "qdisc", "show"], "fault sweep"))]
    for prefix, iface in device_ends:
        try:
            ends += [(tuple(prefix), i) for i in rules.owned_qdiscs(_run(prefix, ["tc", "qdisc", "show"], "sweep"))
                     if i == iface]
        except FaultError:
            continue  # the device went away with its end of the link
    for prefix, iface in ends:
        if (prefix, iface) not in kept_qdiscs:
            _undo(prefix, rules.qdisc_delete(iface), "fault sweep")
            removed.append(f"tc qdisc on {iface}")
    return removed

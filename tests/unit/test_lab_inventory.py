import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InventoryError
from harness.lab.inventory import load_lab, parse_lab
from harness.lab.paths import DEFAULT_LAB_FILE
from harness.lab.profiles import load_profiles

PROFILES = load_profiles()


def parse(text, source="lab.yaml"):
    return parse_lab(text, source, PROFILES)


def test_embedded_lab_has_an_x86_64_and_an_arm64_core():
    lab = load_lab()
    assert lab.source == DEFAULT_LAB_FILE
    arches = {lab.profile_of(d).docker_arch for d in lab.spec.devices if d.emulated}
    assert arches == {"amd64", "arm64"}


def test_shipped_profiles_cover_the_field():
    assert {"ml_c5", "rasp4b", "jetson_nano", "rasp3b"} <= set(PROFILES)
    assert PROFILES["rasp4b"].arch == "aarch64" and PROFILES["ml_c5"].arch == "x86_64"
    assert PROFILES["jetson_nano"].neo_target == "jetson_nano"


def test_real_device_with_key_and_known_hosts(tmp_path):
    (tmp_path / "key").write_text("k")
    (tmp_path / "known_hosts").write_text("")
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text(yaml.safe_dump({"lab": "bench", "devices": [{
        "name": "pi-07", "profile": "rasp4b", "connection": "ssh://pi@10.0.0.7:22",
        "credentials": {"key": "key", "known_hosts": "known_hosts"}, "features": {"camera": "csi"}}]}))
    device = load_lab(lab_file).device("pi-07")
    assert device.credentials.key == tmp_path / "key"  # relative to the lab file
    assert device.features == {"camera": "csi"}


@pytest.mark.parametrize(("text", "message"), [
    ("lab: x\ndevices: [{name: a, profile: ml_c5, emulated: true, bogus: 1}]", "device 'a': bogus: unknown key"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5, connection: 'ftp://h'}]",
     "device 'a': connection: unknown transport 'ftp'"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5, connection: 'ssh://u@h', credentials: {key: /no/such/key}}]",
     "device 'a': credentials.key: file not found: /no/such/key"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5, emulated: true}, {name: a, profile: rasp4b, emulated: true}]",
     "duplicate device name 'a'"),
    ("lab: x\ndevices: [{name: a, profile: nope, emulated: true}]", "device 'a': profile: unknown profile 'nope'"),
    ("lab: x\ndevices: [{name: 'a;rm', profile: ml_c5, emulated: true}]", "'a;rm' is not a safe name"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5}]", "a real device needs `connection`"),
    ("lab: x\ndevices: [{name: a, profile: rasp3b, emulated: true}]", "armv7l, which cannot be emulated"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5, emulated: true, connection: 'ssh://h'}]", "remove `connection`"),
    ("lab: x\ndevices: []", "devices: List should have at least 1 item"),
    ("lab: x\ndevices: [{name: a, profile: ml_c5, emulated: true, image: {'Bad Key': v}}]", "image option"),
    ("- just a list", "expected a mapping at the top"),
    ("lab: [unclosed", "not valid YAML at line 1"),
])
def test_defects_are_one_line_errors_naming_file_device_and_field(text, message):
    with pytest.raises(InventoryError) as err:
        parse(text)
    text_of = str(err.value)
    assert text_of.startswith("[inventory] lab.yaml: ")
    assert message in text_of
    assert "\n" not in text_of


def test_missing_known_hosts_is_allowed_only_with_auto_add(tmp_path):
    base = "lab: x\ndevices: [{name: a, profile: ml_c5, connection: 'ssh://h', credentials: {known_hosts: %s%s}}]"
    with pytest.raises(InventoryError, match="known_hosts: file not found"):
        parse(base % (tmp_path / "kh", ""), tmp_path / "lab.yaml")
    lab = parse(base % (tmp_path / "kh", ", auto_add_host_key: true"), tmp_path / "lab.yaml")
    assert lab.device("a").credentials.auto_add_host_key


def test_unknown_device_lists_the_known_ones():
    with pytest.raises(InventoryError, match="no device 'x' .devices: ml-c4-emu, rasp4b-emu"):
        load_lab().device("x")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_gives_a_lab_or_an_inventory_error(text):
    try:
        lab = parse(text)
    except InventoryError as exc:
        assert str(exc).startswith("[inventory] lab.yaml: ")
        return
    assert lab.spec.devices


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_device = st.fixed_dictionaries({
    "name": st.one_of(st.sampled_from(["a", "pi-1", "x y", ""]), st.text(max_size=8)),
    "profile": st.sampled_from(["ml_c5", "rasp4b", "nope", 3]),
}, optional={"connection": st.one_of(st.sampled_from(["ssh://u@h:22", "docker://c", "ssh://"]), st.text(max_size=12)),
             "emulated": _values, "transport": st.sampled_from(["ssh", "docker", "telnet"]),
             "image": _values, "credentials": _values, "features": _values, "extra": _values})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({"lab": st.sampled_from(["x", "bad name", 7]),
                              "devices": st.lists(_device, max_size=3)}, optional={"engine": _values}))
def test_structured_labs_give_a_lab_or_one_line_error(document):
    try:
        lab = parse(yaml.safe_dump(document))
    except InventoryError as exc:
        assert "\n" not in str(exc)
        return
    for device in lab.spec.devices:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", device.name)
        assert device.emulated or device.connection


def test_lab_subnet_is_stable_and_skips_routed_networks(tmp_path):
    import ipaddress

    from harness.lab.network import free_subnet, routed_networks

    table = tmp_path / "route"
    table.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                     "eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\n"
                     "br-1\t00D50A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
    routed = routed_networks(table)
    assert ipaddress.IPv4Network("10.10.213.0/24") in routed
    first = free_subnet("default", [])
    assert first == free_subnet("default", [])  # the same lab gets the same subnet
    second = free_subnet("default", [ipaddress.IPv4Network(first), *routed])
    assert second != first and ipaddress.IPv4Network(second).subnet_of(ipaddress.IPv4Network("10.213.0.0/16"))


def test_a_labgrid_place_becomes_the_connection_and_excludes_one():
    from harness.lab.inventory import DeviceSpec

    spec = DeviceSpec.model_validate({"name": "pi-07", "profile": "rasp4b",
                                      "labgrid": {"place": "rpi4-07", "coordinator": "lab1.example:20408",
                                                  "wait_s": 120}})
    assert spec.connection == "labgrid://lab1.example:20408?place=rpi4-07&wait_s=120"
    with pytest.raises(ValueError, match="`labgrid` and `connection` exclude each other"):
        DeviceSpec.model_validate({"name": "pi-07", "profile": "rasp4b", "connection": "ssh://pi@10.0.0.7",
                                   "labgrid": {"place": "rpi4-07", "coordinator": "lab1.example:20408"}})

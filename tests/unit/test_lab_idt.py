import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InventoryError
from harness.lab.idt import import_idt, to_yaml
from harness.lab.inventory import parse_lab
from harness.lab.profiles import load_profiles


def pool(devices, arch="aarch64", **extra):
    return {"id": "pool-pi4", "sku": "pi4", "features": [{"name": "arch", "value": arch},
                                                         {"name": "ml", "value": "dlr"},
                                                         {"name": "docker", "value": "no"}],
            "devices": devices, **extra}


def dev(id_, method="pki", **creds):
    return {"id": id_, "operatingSystem": "Linux", "connectivity": {
        "protocol": "ssh", "ip": "192.168.1.40", "port": 22,
        "auth": {"method": method, "credentials": {"user": "pi", **creds}}}}


def test_pki_device_becomes_a_valid_lab_device(tmp_path):
    key = tmp_path / "id_rsa"
    key.write_text("k")
    (tmp_path / "kh").write_text("")
    doc = import_idt(json.dumps([pool([dev("pi4 #1", privKeyPath=str(key))])]), "device.json", "pis")
    device = doc["devices"][0]
    assert device["name"] == "pi4--1"
    assert device["connection"] == "ssh://pi@192.168.1.40:22"
    assert device["profile"] == "rasp4b"
    assert device["features"] == {"ml": "dlr", "docker": "no", "idt_pool": "pool-pi4"}
    device["credentials"]["known_hosts"] = str(tmp_path / "kh")
    lab = parse_lab(to_yaml(doc), tmp_path / "lab.yaml", load_profiles())
    assert lab.device("pi4--1").credentials.key == key


def test_password_is_never_copied():
    doc = import_idt(json.dumps([pool([dev("gw1", method="password", password="hunter2")], arch="x86_64")]))
    text = to_yaml(doc)
    assert "hunter2" not in text
    assert doc["devices"][0]["credentials"]["password_env"] == "HIL_PASSWORD_GW1"
    assert doc["devices"][0]["profile"] == "ml_c5"


@pytest.mark.parametrize(("text", "message"), [
    ("{}", "expected a list of device pools"),
    ("[", "not valid JSON"),
    (json.dumps([pool([])]), "pool 0: devices"),
    (json.dumps([pool([dev("a")])]), "auth method pki needs privKeyPath"),
    (json.dumps([pool([dev("a", privKeyPath="k")], arch="mips")]), "arch 'mips' has no default profile"),
    (json.dumps([{"id": "p", "devices": [{"id": "a", "connectivity": {"protocol": "telnet"}}]}]), "pool 0:"),
])
def test_bad_device_json_is_one_clear_error(text, message):
    with pytest.raises(InventoryError, match=message.replace("(", r"\(")):
        import_idt(text)


_json = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=200)
@given(_json)
def test_any_json_imports_or_fails_cleanly(document):
    try:
        doc = import_idt(json.dumps(document))
    except InventoryError:
        return
    assert yaml.safe_load(to_yaml(doc))["devices"]


def test_device_json_loads_directly_as_a_lab(tmp_path, monkeypatch):
    from harness.lab.inventory import load_lab

    monkeypatch.setenv("HOME", str(tmp_path))
    key = tmp_path / "id_ed25519"
    key.write_text("k")
    device_json = tmp_path / "pool.json"
    device_json.write_text(json.dumps([pool([dev("gw-1", privKeyPath=str(key))], arch="x86_64")]))
    with pytest.raises(InventoryError, match="known_hosts: file not found"):
        load_lab(device_json)  # IDT knows no host keys: ~/.ssh/known_hosts must exist, as for ssh(1)
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text("")
    lab = load_lab(device_json)
    assert lab.name == "pool"
    assert lab.device("gw-1").profile == "ml_c5"
    assert lab.device("gw-1").connection == "ssh://pi@192.168.1.40:22"

from harness.pytest_plugin import device_of

DEVICES = ["rasp4b-emu", "rasp4b-emu-2", "ml-c5-emu"]


def test_device_of_finds_the_device_parameter_wherever_it_stands():
    assert device_of("harness/scenarios/test_smoke.py::test_x[rasp4b-emu]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[rasp4b-emu-health]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[install-ml-c5-emu]", DEVICES) == "ml-c5-emu"
    assert device_of("test_c.py::test_pair[ml-c5-emu-rasp4b-emu-2]", DEVICES) in ("ml-c5-emu", "rasp4b-emu-2")
    assert device_of("test_x.py::test_x[rasp4b-emu-2]", DEVICES) == "rasp4b-emu-2"  # the longest name wins
    assert device_of("test_unit.py::test_plain", DEVICES) is None
    assert device_of("test_x.py::test_x[other-board]", DEVICES) is None

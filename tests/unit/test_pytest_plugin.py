from harness.records import device_of

DEVICES = ["rasp4b-emu", "rasp4b-emu-2", "ml-c4-emu"]


def test_device_of_finds_the_device_parameter_wherever_it_stands():
    assert device_of("harness/scenarios/test_smoke.py::test_x[rasp4b-emu]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[rasp4b-emu-health]", DEVICES) == "rasp4b-emu"
    assert device_of("test_rollback.py::test_r[install-ml-c4-emu]", DEVICES) == "ml-c4-emu"
    assert device_of("test_c.py::test_pair[ml-c4-emu-rasp4b-emu-2]", DEVICES) in ("ml-c4-emu", "rasp4b-emu-2")
    assert device_of("test_x.py::test_x[rasp4b-emu-2]", DEVICES) == "rasp4b-emu-2"  # the longest name wins
    assert device_of("test_unit.py::test_plain", DEVICES) is None
    assert device_of("test_x.py::test_x[other-board]", DEVICES) is None


def test_hil_run_runs_devices_in_parallel_unless_the_user_chose():
    from harness.run import parallel_args

    assert parallel_args([], devices=2, cpus=2) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=4, cpus=2) == ["-n", "4", "--dist", "loadgroup"]
    assert parallel_args([], devices=2, cpus=1) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=40, cpus=2) == ["-n", "8", "--dist", "loadgroup"]
    assert parallel_args(["-n", "4"], devices=2, cpus=2) == []
    assert parallel_args(["-n4"], devices=2, cpus=2) == []
    assert parallel_args(["-p", "no:xdist"], devices=2, cpus=2) == []
    assert parallel_args(["--dist=load"], devices=2, cpus=2) == []
    assert parallel_args(["-p", "no:randomly"], devices=2, cpus=2) == ["-n", "2", "--dist", "loadgroup"]
    assert parallel_args([], devices=1, cpus=2) == []


def test_each_device_starts_at_another_module_and_keeps_modules_whole():
    from harness.pytest_plugin.scheduler import staggered

    ids = ["a.py::t1[x]", "a.py::t2[x]", "b.py::t[x]", "c.py::t[x]", "d.py::t1[x]", "d.py::t2[x]"]
    assert staggered(ids, 0, 4) == ids
    assert staggered(ids, 1, 4) == ["b.py::t[x]", "c.py::t[x]", "d.py::t1[x]", "d.py::t2[x]", "a.py::t1[x]",
                                    "a.py::t2[x]"]
    assert staggered(ids, 2, 4)[:1] == ["c.py::t[x]"] and staggered(ids, 3, 4)[:2] == ["d.py::t1[x]", "d.py::t2[x]"]
    assert sorted(staggered(ids, 3, 4)) == sorted(ids) and staggered(ids, 0, 1) == ids
    assert staggered([], 2, 4) == []

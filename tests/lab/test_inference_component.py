"""The DLR inference component on the cores: deployed with greengrass-cli next to the model component,
its results received by the harness over the lab broker's mutual TLS, checked against ONNX Runtime on
the host, for a fixture image and for the camera simulator's frames."""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import onnxruntime as ort
import pytest

from harness.compile.bundled import BUNDLED_MODEL as MODEL
from harness.compile.bundled import IMAGES_DIR, INPUT_NAME, REFERENCE
from harness.greengrass import builders, steps
from harness.greengrass.errors import ComponentNotFound
from harness.lab.device import DEVICE_PYTHON
from harness.mqtt.acl import thing_topic
from harness.mqtt.pki import CertificateAuthority
from harness.mqtt.subscriber import ResultSubscriber
from harness.ondevice import link
from harness.ondevice.payload import softmax
from harness.ondevice.preprocess import load_image, preprocess
from harness.primitives.scratch import make_scratch, remove_scratch
from harness.ship import component_artifacts
from simulators.camera.scenes import shape_frame

IMAGE = IMAGES_DIR / "red_circle.png"
DEPLOY_WITHIN = 240.0  # arm64 cores start python + numpy + OpenCV + the TVM runtime under qemu-user
RESULT_WITHIN = 180.0
FRAME_RE = re.compile(r"frame-(\d{6})\.png")


def reference(bgr: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: preprocess(bgr)})[0][0]


def check_against_host(result, bgr: np.ndarray) -> None:
    logits = reference(bgr)
    assert result.top1 == int(np.argmax(logits))
    assert result.predictions[0].label == str(result.top1)
    assert result.predictions[0].score == pytest.approx(float(softmax(logits).max()), abs=2e-3)


def test_thing_key_is_for_components_only(device):
    listing = device.transport.check("stat -c '%a %U %G %n' /greengrass/v2/privKey.key /greengrass/v2/thingCert.crt "
                                     "/greengrass/v2/rootCA.pem /greengrass/v2/iot-endpoint", timeout=30).stdout
    assert "640 root ggc_group /greengrass/v2/privKey.key" in listing
    assert "644 root root /greengrass/v2/thingCert.crt" in listing
    assert not device.transport.run(["cat", "/greengrass/v2/privKey.key"], timeout=30).ok  # the login user: no
    decode = "import ssl,sys; print(ssl._ssl._test_decode_cert(sys.argv[1])['subject'])"
    subject = device.transport.check([device.python, "-c", decode, "/greengrass/v2/thingCert.crt"], timeout=60).stdout
    assert f"'commonName', '{device.name}'" in subject


def test_inference_component_results_over_mtls(device, lab, greengrass, gg_name, gg_run_id, compiled_model,
                                               tmp_path):
    iot = lab.iot
    base = make_scratch(device.transport, "inference")  # opened to 0755 below: the component's user reads it
    fixture_dir, camera_dir = f"{base}/images", f"{base}/camera"
    device.transport.check(["mkdir", "-p", fixture_dir, camera_dir], timeout=30)
    device.transport.check(["chmod", "0755", base, fixture_dir, camera_dir], timeout=30)
    device.transport.put(IMAGE, f"{fixture_dir}/{IMAGE.name}", timeout=30)
    device.transport.check(["chmod", "0644", f"{fixture_dir}/{IMAGE.name}"], timeout=30)

    topic = thing_topic("image-classification", device.name, gg_run_id)  # the broker's ACL: its own topics only
    model = builders.model_component(gg_name("com.example.TinyCnn"), "1.0.0", compiled_model.directory, tmp_path)
    script, siblings = component_artifacts()
    on_fixture = builders.inference_component(gg_name("com.example.DlrFixture"), "1.0.0", model, script,
                                              extra_files=siblings, inference_interval=2, topic=topic,
                                              image_directory=fixture_dir, image_name=IMAGE.name)
    on_camera = builders.inference_component(gg_name("com.example.DlrCamera"), "1.0.0", model, script,
                                             extra_files=siblings, inference_interval=1, topic=topic,
                                             image_directory=camera_dir)
    names = [c.recipe.component_name for c in (on_fixture, on_camera, model)]
    camera = device.transport.check(
        f"nohup {DEVICE_PYTHON} -m simulators.camera --out {shlex.quote(camera_dir)} --fps 1 --ring 10 "
        f">{shlex.quote(base)}/camera.log 2>&1 </dev/null & echo $!", timeout=30).stdout.strip()
    try:
        with ResultSubscriber(iot.endpoint, iot.credentials(), topic) as results:
            # One component at a time: the lab broker makes the thing's CN its client id, so a second
            # connection with the core's certificate would take over the first (as under an IoT policy
            # granting iot:Connect on the thing's own client id only).
            steps.expect_deployment(greengrass, [model, on_fixture], within=DEPLOY_WITHIN)
            steps.expect_component_state(greengrass, names[0], "RUNNING", within=60)
            (fixture,) = results.expect(lambda r: r.image == IMAGE.name, within=RESULT_WITHIN, device=device.name)
            check_against_host(fixture, load_image(IMAGE))
            assert fixture.top1 == json.loads(REFERENCE.read_text())[
                "outputs"][IMAGE.name]["top1"]
            steps.expect_log_line(greengrass, names[0],
                                  rf"inference image={re.escape(IMAGE.name)} top1=\d+ .* published", within=30)

            steps.expect_deployment(greengrass, [model, on_camera], remove=[names[0]], within=DEPLOY_WITHIN)
            steps.expect_component_state(greengrass, names[1], "RUNNING", within=60)
            frames = results.expect(lambda r: bool(r.image and FRAME_RE.fullmatch(r.image)), count=3,
                                    within=RESULT_WITHIN, device=device.name)
            assert len({r.image for r in frames}) >= 2  # new frames keep flowing through the component
            for result in frames:
                index = int(FRAME_RE.fullmatch(result.image).group(1))
                check_against_host(result, shape_frame(index - 1))  # PNG is lossless: the host redraws it
    finally:
        device.transport.run(["kill", camera], timeout=30)
        steps.expect_deployment(greengrass, remove=names, within=DEPLOY_WITHIN)
        remove_scratch(device.transport, base)
    for name in names:
        with pytest.raises(ComponentNotFound):
            greengrass.component(name)


def test_the_lab_broker_refuses_a_rogue_certificate(lab, tmp_path):
    iot = lab.iot
    rogue = CertificateAuthority(tmp_path / "rogue").thing("harness")
    with pytest.raises(link.LinkError, match="failed"):
        link.connect(iot.endpoint, link.Credentials(rogue.cert, rogue.key, iot.ca.ca.cert), "rogue", timeout=5)
    # the lab's own certificate works on the same endpoint
    link.disconnect(link.connect(iot.endpoint, iot.credentials(), "harness-probe", timeout=10))

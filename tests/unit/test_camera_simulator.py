"""The camera simulator: N frames, written atomically, in a bounded ring, at a rate."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from simulators.camera.__main__ import main
from simulators.camera.scenes import SceneError, shape_frame, source
from simulators.camera.writer import FrameWriter

ROOT = Path(__file__).resolve().parents[2]


def test_cli_writes_n_frames_then_stops(tmp_path, capsys):
    out = tmp_path / "frames"
    started = time.monotonic()
    assert main(["--out", str(out), "--fps", "20", "--count", "5", "--ring", "10"]) == 0
    elapsed = time.monotonic() - started
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame-{i:06d}.png" for i in range(1, 6)]  # no temp files left behind
    assert 0.15 <= elapsed < 3  # paced at 20 fps: 4 gaps of 50 ms
    for i, name in enumerate(names):
        frame = cv2.imread(str(out / name))
        assert frame.shape == (256, 256, 3)
        np.testing.assert_array_equal(frame, shape_frame(i))  # PNG is lossless
        assert oct(os.stat(out / name).st_mode & 0o777) == "0o644"
    assert "frame-000005.png" in capsys.readouterr().out


def test_ring_keeps_the_newest_and_numbering_continues(tmp_path):
    writer = FrameWriter(tmp_path, ring=3)
    for i in range(7):
        writer.write(shape_frame(i))
    assert [p.name for p in writer.frames()] == ["frame-000005.png", "frame-000006.png", "frame-000007.png"]
    again = FrameWriter(tmp_path, ring=3)
    assert again.write(shape_frame(0)).name == "frame-000008.png"


def test_concurrent_reader_never_sees_a_partial_frame(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "simulators.camera", "--out", str(tmp_path), "--fps", "100",
                             "--count", "60", "--ring", "4"], cwd=ROOT, stdout=subprocess.DEVNULL)
    decoded = 0
    try:
        while proc.poll() is None:
            for path in tmp_path.glob("frame-*.png"):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:  # rotated away between listing and reading
                    continue
                assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
                decoded += 1
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0 and decoded > 0
    assert len(list(tmp_path.glob("frame-*.png"))) == 4


def test_video_scene_loops_a_file(tmp_path):
    video = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(3):
        out.write(np.full((48, 64, 3), i * 80, np.uint8))
    out.release()
    frames = source("video", video)
    means = [int(next(frames).mean()) for _ in range(5)]
    assert means[3] == means[0] and means[0] < means[1] < means[2]


@pytest.mark.parametrize("argv", [["--fps", "0"], ["--count", "-1"], ["--scene", "video"]])
def test_bad_arguments_are_refused(tmp_path, argv):
    try:
        code = main(["--out", str(tmp_path / "o"), *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    with pytest.raises(SceneError, match="cannot open"):
        next(source("video", tmp_path / "missing.avi"))

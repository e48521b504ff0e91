"""``python -m simulators.camera``: write frames at a rate until --count frames (or forever)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simulators.camera.scenes import SceneError, source
from simulators.camera.writer import FrameWriter


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulators.camera", description="write camera frames into a directory")
    p.add_argument("--out", type=Path, required=True, help="frame directory (made if missing)")
    p.add_argument("--fps", type=float, default=2.0, help="frames per second (default 2)")
    p.add_argument("--scene", default="shapes", choices=("shapes", "video"))
    p.add_argument("--video", type=Path, help="video file for --scene video")
    p.add_argument("--count", type=int, default=0, help="stop after this many frames (0: run until killed)")
    p.add_argument("--ring", type=int, default=30, help="keep at most this many frames (default 30)")
    p.add_argument("--format", default="png", choices=("png", "jpg"))
    args = p.parse_args(argv)
    if not 0 < args.fps <= 120:
        p.error("--fps must be in (0, 120]")
    if args.count < 0:
        p.error("--count must be >= 0")
    try:
        frames = source(args.scene, args.video)
        writer = FrameWriter(args.out, args.ring, args.format)
    except (SceneError, ValueError, OSError) as exc:
        print(f"camera: {exc}", file=sys.stderr)
        return 2
    period = 1.0 / args.fps
    start = time.monotonic()
    written = 0
    try:
        for frame in frames:
            path = writer.write(frame)
            written += 1
            print(f"camera: {path.name}", flush=True)
            if args.count and written >= args.count:
                break
            time.sleep(max(0.0, start + written * period - time.monotonic()))
    except (SceneError, OSError) as exc:
        print(f"camera: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

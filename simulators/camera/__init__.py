"""A camera stand-in for the cores: frames written into a directory at a rate, like a capture daemon.

    python -m simulators.camera --out /var/lib/hil/camera --fps 2 --scene shapes --count 10 --ring 20

Frames are ``frame-NNNNNN.png`` written atomically (a dot-temp file renamed into place), and at most
``--ring`` of them are kept (the oldest are deleted), so readers never see a half-written frame and
the directory never fills the disk. Scenes: ``shapes`` (OpenCV-drawn scenes like fixtures/images,
deterministic per frame index) or ``video`` (frames of a video file read with OpenCV, looped).
"""

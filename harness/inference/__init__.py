"""On-device DLR image classification: preprocessing, the result payload and the Greengrass component script.

Runs on the cores (installed by image layer 45-iot under /opt/hil/lib) and on the host (the reference
and the result parser), so it imports only the standard library, numpy, OpenCV, ``dlr`` and ``awscrt``.
"""

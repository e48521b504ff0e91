"""An AWS IoT Greengrass v2 core emulator: a nucleus daemon plus the real `greengrass-cli` surface.

Kept import-free so `greengrass-cli` starts fast; each module does one job (see docs/greengrass-emulator.md).
"""

"""Primitives every part of the harness shares, each written once.

deadline   Timeout and poll_until: every bounded wait
hostcmd    run_controller: one command on the controller, a typed error when it fails
arch       one table of architecture spellings (uname, Docker, Debian, wheel tags, Greengrass, Neo)
digest     streaming SHA-256 of files, and a stable key of a JSON-able value
scratch    a private, unpredictable scratch directory on a device, removed after use
progress   the progress callbacks (Say for lines, TransferProgress for bytes) and the console's say()
validation one line from a pydantic ValidationError
exitstatus 128+N exit statuses and signals
"""

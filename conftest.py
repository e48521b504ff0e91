"""Wires the harness's pytest plugin into this repository's own test runs, and pytester for its tests.

Installed (`pip install -e .`), the plugin arrives through its `pytest11` entry point; from a bare
checkout it is loaded here instead, never both.
"""

from importlib.metadata import entry_points

pytest_plugins = ["pytester"]  # the plugin's own tests run pytest as a user would
if not any(ep.name == "hil" for ep in entry_points(group="pytest11")):
    pytest_plugins.append("harness.pytest_plugin")

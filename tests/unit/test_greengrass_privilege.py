"""One decision of how root-only Greengrass steps run (harness.greengrass.privilege), as docs/boards.md states it:
``greengrass_cli`` as given; ``sudo`` yes/no for every user; unset: root directly, any other user via ``sudo -n``."""

from __future__ import annotations

import os

import pytest

from harness.greengrass.privilege import cli_invocations, for_user, greengrass_root, root_prefixes
from harness.transport.local import LocalTransport

CLI = "/greengrass/v2/bin/greengrass-cli"


def test_the_cli_invocation_from_the_merged_features():
    assert cli_invocations({}) == ([CLI], ["sudo", "-n", CLI])
    assert cli_invocations({"greengrass_root": "/opt/gg/", "sudo": "yes"}) == (
        ["sudo", "-n", "/opt/gg/bin/greengrass-cli"], None)
    assert cli_invocations({"sudo": "false"}) == ([CLI], None)
    assert cli_invocations({"greengrass_cli": "doas /gg/bin/greengrass-cli", "sudo": "yes"}) == (
        ["doas", "/gg/bin/greengrass-cli"], None)


@pytest.mark.parametrize(("sudo", "expected"), [("yes", (["sudo", "-n"], None)), ("ON", (["sudo", "-n"], None)),
                                                ("no", ([], None)), (" 0 ", ([], None)), ("", ([], ["sudo", "-n"])),
                                                ("maybe", ([], ["sudo", "-n"]))])
def test_the_sudo_feature_decides_for_every_user_or_leaves_it_to_the_user_id(sudo, expected):
    assert root_prefixes({"sudo": sudo}) == expected


def test_the_root_directory_loses_its_trailing_slash_only():
    assert greengrass_root({}) == "/greengrass/v2"
    assert greengrass_root({"greengrass_root": "/opt/gg//"}) == "/opt/gg"
    assert greengrass_root({"greengrass_root": "/"}) == "/"


def test_the_user_id_is_asked_only_when_the_features_leave_it_open():
    transport = LocalTransport("controller")
    mine = [] if os.getuid() == 0 else ["sudo", "-n"]
    assert for_user(cli_invocations({}), transport)[:-1] == mine
    broken = LocalTransport("controller")
    broken.check = None  # type: ignore[method-assign]  # asking the user id now would raise TypeError
    assert for_user(cli_invocations({"sudo": "yes"}), broken) == ["sudo", "-n", CLI]
    assert for_user(root_prefixes({"sudo": "no"}), broken) == []

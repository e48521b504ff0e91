"""The Greengrass releases this emulator follows.

Behaviour follows aws-greengrass-nucleus v2.18.2 (commit c2277d5); greengrass-cli output follows
aws-greengrass-cli v2.16.1 (commit 5d9c141). docs/greengrass-conformance.md lists where it differs.
"""

NUCLEUS_VERSION = "2.18.2"
CLI_VERSION = "2.16.1"

"""Greengrass v2: component recipes, artifacts, and a greengrass-cli client over any transport.

names        component names, versions and version requirements
recipe       the recipe model (RecipeFormatVersion 2020-01-25), validation, YAML/JSON
recipe_keys  lifecycle step names and selection keys of a recipe, read case-insensitively
artifacts    digests, reproducible ZIPs, the recipes/ + artifacts/ layout, Component
builders     the DLR model and inference components; run-unique names
cli_output   parsing greengrass-cli output (formats transcribed from aws-greengrass-cli)
remote       a device call whose non-zero exit is an answer, named after its Greengrass step
staging      recipes and artifacts onto a device (a private scratch dir, upload once per SHA-256)
client       deployments, component states and logs on a core
steps        GTF-style test steps (expect_deployment, expect_component_state, ...) and fixtures
hil_command  `hil greengrass validate|package`
"""

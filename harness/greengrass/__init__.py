"""Greengrass v2: component recipes, artifacts, and a greengrass-cli client over any transport.

recipe      the recipe model (RecipeFormatVersion 2020-01-25), validation, YAML/JSON
lifecycle   lifecycle steps and selection keys of a recipe
artifacts   digests, reproducible ZIPs, the recipes/ + artifacts/ layout, Component
builders    the DLR model and inference components; run-unique names
cli_output  parsing greengrass-cli output as AWS's test framework does
remote      one bounded device call, named after its Greengrass step
staging     recipes and artifacts onto a device (upload once per SHA-256)
client      deployments, component states and logs on a core
steps       GTF-style test steps and fixtures
cli         `hil greengrass validate|package`
"""

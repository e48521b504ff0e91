"""`hil greengrass`: validate recipes, and package a compiled model as Greengrass components.

``package`` writes ``OUT/recipes`` and ``OUT/artifacts`` ready for
``greengrass-cli deployment create --recipeDir OUT/recipes --artifactDir OUT/artifacts --merge ...``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness.greengrass import builders
from harness.greengrass.artifacts import write_store
from harness.greengrass.errors import RecipeError
from harness.greengrass.recipe import read_recipe
from harness.lab.device import DEVICE_PYTHON


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("greengrass", help="Greengrass recipes and components",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="gg_command", required=True, metavar="{validate,package}")
    v = sub.add_parser("validate", help="validate component recipes (YAML or JSON)")
    v.add_argument("recipes", type=Path, nargs="+", metavar="RECIPE")
    v.set_defaults(func=_validate)
    k = sub.add_parser("package", help="build the DLR model (and inference) components of a compiled model")
    k.add_argument("model_dir", type=Path, help="compiled artifact directory (output of `hil compile`)")
    k.add_argument("--name", required=True, help="model component name, e.g. com.example.Model")
    k.add_argument("--version", required=True, help="model component version, e.g. 1.0.0")
    k.add_argument("--architecture", choices=builders.ARCHITECTURES, help="manifest Platform architecture")
    k.add_argument("--architecture-detail", help="manifest Platform architecture.detail, e.g. armv7l")
    k.add_argument("--inference-script", type=Path, help="also build an inference component running this script")
    k.add_argument("--inference-name", help="inference component name (default: <name>.Inference)")
    k.add_argument("--interpreter", default=DEVICE_PYTHON, help="absolute path of the interpreter")
    k.add_argument("-o", "--output", type=Path, required=True, help="directory for recipes/ and artifacts/")
    k.set_defaults(func=_package)


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.recipes:
        try:
            recipe = read_recipe(path)
        except RecipeError as exc:
            print(f"{path}: {exc.detail}", file=sys.stderr)
            failed += 1
        else:
            print(f"{path}: ok {recipe.ref}")
    return 1 if failed else 0


def _package(args: argparse.Namespace) -> int:
    try:
        with tempfile.TemporaryDirectory(prefix="hil-gg-package-") as work:
            model = builders.model_component(args.name, args.version, args.model_dir, Path(work),
                                             architecture=args.architecture,
                                             architecture_detail=args.architecture_detail)
            components = [model]
            if args.inference_script:
                components.append(builders.inference_component(
                    args.inference_name or f"{args.name}.Inference", args.version, model, args.inference_script,
                    interpreter=args.interpreter, architecture=args.architecture,
                    architecture_detail=args.architecture_detail))
            recipe_dir, artifact_dir = write_store(components, args.output)
    except ValueError as exc:  # bad names, versions, interpreter: nothing was written
        print(f"hil greengrass package: {exc}", file=sys.stderr)
        return 2
    merge = " ".join(f"--merge {c.recipe.component_name}={c.recipe.component_version}" for c in components)
    print(f"greengrass-cli deployment create --recipeDir {recipe_dir.resolve()} "
          f"--artifactDir {artifact_dir.resolve()} {merge}")
    return 0

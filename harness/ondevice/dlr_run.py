"""One inference through the unmodified dlr wrapper, as an application does it, the result as it came.

``dlr_run.py MODEL_DIR --zeros SHAPE DTYPE``: one run on zeros (``1,3,224,224 float32``); prints
``output [shape]``. A failure (a wrong target, a missing library, a bad input shape) is the wrapper's
own exception and exit status: reproductions diagnose exactly that.

``dlr_run.py MODEL_DIR --feeds NPZ``: the npz holds ``KEY/INPUT`` arrays; one run per KEY; prints one
JSON object: the model's input names and dtypes, output names, DLR's version and, per KEY, the first
output's shape and values (the host compares them with ONNX Runtime); with ``--all-outputs`` also every
output's shape, dtype and values under ``outputs``, in the model's order.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dlr_run.py", description=__doc__.splitlines()[0])
    p.add_argument("model_dir")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--zeros", nargs=2, metavar=("SHAPE", "DTYPE"))
    group.add_argument("--feeds", metavar="NPZ")
    p.add_argument("--all-outputs", action="store_true", help="with --feeds: every output, not only the first")
    args = p.parse_args(argv)
    import dlr
    import numpy as np

    model = dlr.DLRModel(args.model_dir, "cpu", 0)
    if args.zeros:
        shape = tuple(int(n) for n in args.zeros[0].split(","))
        y = model.run({model.get_input_names()[0]: np.zeros(shape, dtype=args.zeros[1])})[0]
        print("output", list(y.shape))
        return 0
    results = {}
    with np.load(args.feeds) as feeds:
        for key in sorted({k.split("/", 1)[0] for k in feeds.files}):
            feed = {k.split("/", 1)[1]: feeds[k] for k in feeds.files if k.startswith(key + "/")}
            ys = [np.asarray(y) for y in model.run(feed)]
            results[key] = {"shape": list(ys[0].shape), "values": ys[0].ravel().astype(float).tolist()}
            if args.all_outputs:
                results[key]["outputs"] = [{"shape": list(y.shape), "dtype": str(y.dtype),
                                            "values": y.ravel().tolist()} for y in ys]
    print(json.dumps({"inputs": model.get_input_names(), "dtypes": model.get_input_dtypes(),
                      "outputs": model.get_output_names(), "version": model.get_version(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

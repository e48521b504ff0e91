"""Hardware-in-the-loop harness for edge ML: compile (Neo/TVM), deploy (Greengrass), infer (DLR), roll back."""

__version__ = "0.1.0"

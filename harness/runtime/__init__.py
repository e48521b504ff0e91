"""The project's libdlr: the DLR 1.10 C API over the TVM runtime, built per architecture.

``build.build_libdlr`` builds it, ``venv.install_into_venv`` puts it where the PyPI ``dlr`` wrapper
looks; the C++ sources are in ``src/``.
"""

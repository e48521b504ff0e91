"""The shipped scenario suites: pytest modules run by `hil run` against any lab file."""

"""The CI tier: every kernel at a small size under pytest-benchmark (run by ``.ci/run``)."""

"""Standalone speed benchmarks: our kernel and the tool a user would otherwise run,
measured in the same run, alternating, reported as medians and ratios.

These scripts sit at the top of the stack (they may import any layer); no
library module imports them.
"""

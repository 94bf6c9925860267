"""The anchor scoreboard (``hpcplan anchors``) and the speed scripts it reuses: our kernel
and the tool a user would otherwise run, measured in the same run, alternating, reported as
medians and ratios.

They sit at the top of the stack because they compare every layer (the projection engine,
Slurm bookkeeping) with outside tools; only ``hpcplan.cmd_anchors`` imports them, so
nothing under ``bench/`` needs ``models`` or ``slurm``. Each speed script is also a
program (``python -m hpcplan.anchors.peak``) and may print from its ``main``.
"""

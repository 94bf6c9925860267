"""Slurm integration: batch scripts, a client for the Slurm commands, a local test cluster.

Standard library only, so it works wherever Python does; ``hpcplan`` uses it.
"""


class SlurmError(Exception):
    """Slurm refused, is missing or answered something unreadable; the message says which."""

"""The one exception type for user mistakes, at the lowest layer so every layer can raise it.

The CLI turns a ``UserError`` into its message on stderr and a non-zero exit,
never a traceback; the message is one sentence naming the field or file.
"""


class UserError(Exception):
    """A mistake the user can fix: bad argument, file, config or environment."""

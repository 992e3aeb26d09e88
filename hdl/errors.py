"""Errors that the CLI reports as one clear line (no traceback)."""


class UserError(Exception):
    """Bad input from the user: a bad argument, a missing file, an invalid value."""

"""Errors that carry a message meant for the user: what is wrong and what to do."""


class PcclipError(Exception):
    """An expected failure with a one-line, actionable message (printed without a traceback)."""


class StoreError(PcclipError):
    """The database file cannot be opened, is not a pcclip database, or cannot be written."""


class SpecError(PcclipError):
    """An ablation spec or a config is invalid."""

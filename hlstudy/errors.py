"""The project's exception types."""

from __future__ import annotations


class HlstudyError(Exception):
    """Base class of every error hlstudy raises on purpose."""


class SurveyDataError(HlstudyError, ValueError):
    """Input data cannot be read as the instrument it claims to be.

    The message always names the file and, where it applies, the row
    (1-based, as a spreadsheet shows it, header = row 1) or the column.
    """

    def __init__(self, message: str, *, file=None, row=None, column=None):
        parts = []
        if file is not None:
            parts.append(f"{file}")
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.detail = message  # the message without the file/row/column prefix
        self.file = file
        self.row = row
        self.column = column


class ModelError(HlstudyError, ValueError):
    """A statistical routine received arguments it cannot work with."""

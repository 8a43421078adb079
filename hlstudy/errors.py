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


def check_lang(lang) -> str:
    """``lang`` when it is ``"vi"`` or ``"en"`` (the languages hlstudy words its results in);
    else :class:`ModelError`.

    >>> check_lang("vi")
    'vi'
    """
    if lang not in ("vi", "en"):
        raise ModelError(f"lang must be 'vi' or 'en', got {lang!r}")
    return lang


class TooFewRowsError(ModelError):
    """Too few complete rows for the items (a covariance matrix needs more rows than items).

    ``rows``, ``items`` and ``group`` (None for one group) let a caller word it in its own
    language: :meth:`text` (``"vi"`` or ``"en"``)."""

    def __init__(self, message: str, *, rows: int, items: int, group=None):
        super().__init__(message)
        self.rows, self.items, self.group = rows, items, group

    def __reduce__(self):  # pickled with its parts
        return (_too_few_rows, (str(self), self.rows, self.items, self.group))

    def text(self, lang: str = "en") -> str:
        if check_lang(lang) == "en":
            return str(self)
        where = "" if self.group is None else f" ở nhóm {self.group}"
        return (f"quá ít phiếu trả lời đủ mọi biến{where}: {self.rows} phiếu cho {self.items} biến "
                "(cần nhiều phiếu đủ hơn số biến để ma trận hiệp phương sai xác định dương)")


def _too_few_rows(message, rows, items, group):
    return TooFewRowsError(message, rows=rows, items=items, group=group)


def warning_text(warning, lang: str = "en") -> str:
    """A caught warning in words, for prose in ``lang`` (``"vi"`` or ``"en"``).

    ``warning``: a :class:`Warning` or what ``warnings.catch_warnings(record=True)`` records.
    hlstudy's estimation warnings word themselves (their ``text(lang)``: CFA/SEM convergence,
    identification, scale and Heywood warnings; an ``OmegaWarning`` through its ``problem``).
    Any other warning has English words only: in Vietnamese it is given as it is, marked as
    untranslated and named by its class, so that nothing is dropped silently."""
    check_lang(lang)
    message = getattr(warning, "message", warning)
    if not isinstance(message, Warning):
        raise ModelError(f"warning_text needs a warning, got {type(warning).__name__}")
    if lang == "en":
        return str(message)
    text = getattr(message, "text", None)
    if text is None and hasattr(getattr(message, "problem", None), "text"):
        text = message.problem.text
    try:
        return text("vi") if text is not None else _untranslated(message)
    except ModelError:   # issued without its parts (from a plain string)
        return _untranslated(message)


def _untranslated(message: Warning) -> str:
    return f"cảnh báo {type(message).__name__} (chưa có bản tiếng Việt): {message}"

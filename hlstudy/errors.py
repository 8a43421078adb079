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


class FigureSizeWarning(UserWarning):
    """A saved figure is larger than a thesis page holds at its natural size
    (:data:`hlstudy.export.FIGURE_MAX_MM`; :func:`hlstudy.export.save_figure` warns).

    ``stem``, ``width`` and ``height`` (mm, as saved) let a caller word it: :meth:`text`
    (``"vi"`` or ``"en"``; :func:`hlstudy.errors.warning_text` uses it)."""

    def __init__(self, stem: str, width: float, height: float):
        self.stem, self.width, self.height = stem, float(width), float(height)
        super().__init__(self.text("en"))

    def __reduce__(self):
        return (FigureSizeWarning, (self.stem, self.width, self.height))

    @property
    def scale(self) -> float:
        """The share of its size the figure prints at when shrunk onto the page (0-1)."""
        from hlstudy.export import FIGURE_MAX_MM

        return min(FIGURE_MAX_MM["width"] / self.width, FIGURE_MAX_MM["height"] / self.height, 1.0)

    def text(self, lang: str = "en") -> str:
        from hlstudy.export import FIGURE_MAX_MM, format_number

        check_lang(lang)
        limit = f"{FIGURE_MAX_MM['width']:.0f} × {FIGURE_MAX_MM['height']:.0f} mm"
        size = f"{self.width:.0f} × {self.height:.0f} mm"
        points = format_number(10 * self.scale, 1, lang=lang)
        if lang == "en":
            return (f"figure {self.stem!r} is {size} as saved, larger than the {limit} an A4 thesis "
                    f"page holds at its natural size: it would print at {self.scale:.0%} of its size "
                    f"(10-pt text at {points} pt). Give it a smaller figsize, fewer panels side "
                    "by side, or split it")
        return (f"hình {self.stem!r} có kích thước {size} khi lưu, lớn hơn khổ {limit} mà một trang "
                f"luận văn A4 chứa được ở cỡ gốc: khi in sẽ bị thu còn {self.scale:.0%} (chữ 10 pt "
                f"còn {points} pt). Hãy giảm figsize, bớt số ô hình xếp cạnh nhau hoặc tách hình")

"""matplotlib's fonts read from memory instead of through their open files (issue 15).

matplotlib 3.11 opens each font file as a Python file object and hands FreeType a stream
whose every read is a call back into Python: ``seek`` then ``read`` on that file, each a
system call.  FreeType reads glyph outlines and hinting instructions lazily, so laying out a
line of text costs hundreds of such calls: a ``strace`` of two figure test modules counted
463,714 ``lseek`` and 207,027 ``read`` calls, nearly all on ``DejaVuSans.ttf``.  Given the
font's bytes in an :class:`io.BytesIO` instead, the same reads stay in memory:
``FT2Font.set_text`` of a 70-character Vietnamese line took 1.7 ms from the file and 0.53 ms
from memory (2,000 layouts, this machine), and the test suite ~5-10 s less CPU.

:func:`install` changes two names of ``matplotlib.font_manager``: its ``_get_font`` (which
builds, and keeps, every font object matplotlib draws text with) marks, for its thread, that a
font is being built for drawing; and its ``ft2font`` namespace gets an ``FT2Font`` that, while
so marked, reads the font named by a path from its bytes (:class:`FontFile`).  Anything else
that builds a font (``FontManager.addfont``, which lists fonts by their ``fname``) gets
matplotlib's own.  The glyphs are those of the same bytes, so the figures are byte-identical
(``tests/test_fontdata.py``; the notebooks' exports, compared with the committed files).  A
font read from memory reports its :class:`FontFile` as ``fname``, whose ``str`` is the path:
the PDF and PostScript back ends take it as ``FontPath(font.fname, ...)``, a ``str``, and
open that file to embed the font.  A file's bytes are kept once per process and path (one
copy: replaced when the file's size or modification time, read from the open file, changes;
DejaVu Sans, its bold face and matplotlib's last-resort font: ~2 MB) and shared by every font
object made from them.

:func:`install` leaves matplotlib alone, and returns False (saying why in a ``logging`` debug
message of this module's logger), on a matplotlib older than 3.11 (its PDF and PostScript
back ends use ``font.fname`` itself, a ``str`` there, as the key of the fonts they embed: a
:class:`FontFile` would break the embedding), when ``font_manager``'s ``ft2font`` or
``_get_font`` is not matplotlib's own (someone else replaced it) or when a font read from
memory would not name its file and family as one read from the file does (another
matplotlib).  It is called by :func:`hlstudy.export.use_style` and
:func:`hlstudy.export.save_figure`; ``tests/conftest.py`` calls it once per test process.
:func:`uninstall` gives matplotlib its names back.

Example::

    >>> from hlstudy import _fontdata
    >>> _fontdata.install()
    True
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import threading
import types

_log = logging.getLogger(__name__)

#: marks the namespace :func:`install` gives ``matplotlib.font_manager``
_MARK = "_hlstudy_fonts_from_memory"
#: the oldest matplotlib (major, minor) whose back ends take a font's ``fname`` as ``str(...)``
#: (``FontPath``): on older ones :func:`install` leaves matplotlib alone
MIN_MATPLOTLIB = (3, 11)
#: a font file's bytes by path: ``path → ((size, modification time in ns), bytes)``, one entry
#: per path (replaced when the file changes)
_BYTES: dict[str, tuple[tuple[int, int], bytes]] = {}
#: per thread: True while matplotlib's ``_get_font`` builds fonts (:func:`_for_drawing`)
_building = threading.local()


class FontFile(io.BytesIO):
    """A font file's bytes, readable as the file (``seek``/``read`` in memory), that names its
    path: ``name`` and ``str(font_file)`` are the path, as ``FT2Font.fname`` reports it."""

    def __init__(self, path):
        self.name = os.fsdecode(path)
        super().__init__(font_bytes(self.name))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"FontFile({self.name!r})"


def font_bytes(path: str) -> bytes:
    """The bytes of the font file ``path``, read once per process while the file's size and
    modification time stay the same.  Both are taken (``os.fstat``) from the file opened to
    read it, so they are those of the bytes read; one copy is kept per path, replaced when
    they change.  Raises ``OSError`` as ``open`` does (FT2Font's own error for a missing
    file)."""
    with open(path, "rb") as fh:
        stat = os.fstat(fh.fileno())
        key = (stat.st_size, stat.st_mtime_ns)
        kept = _BYTES.get(path)
        if kept is not None and kept[0] == key:
            return kept[1]
        data = fh.read()
    if len(data) == key[0]:   # not kept if the file changed while it was read
        _BYTES[path] = (key, data)
    return data


def _version(text) -> tuple[int, int] | None:
    """``(major, minor)`` of a version string (``"3.11.2"``, ``"3.11.0rc1"``,
    ``"3.10.0.dev12+g1a2b"``, ``" 3.9 "``), or None when it does not begin with two numbers.

    >>> _version("3.11.0rc1"), _version("3.9.4.post1"), _version("main")
    ((3, 11), (3, 9), None)
    """
    found = re.match(r"\s*v?(\d+)\.(\d+)", str(text))
    return (int(found[1]), int(found[2])) if found else None


def _reading_from_memory(real_ft2font_class):
    """``FT2Font`` with a path given as a :class:`FontFile` while :func:`_for_drawing` builds
    fonts in this thread (keyword arguments unchanged); matplotlib's own otherwise."""

    def FT2Font(filename, *args, **kwargs):  # noqa: N802 - the name matplotlib calls
        if getattr(_building, "fonts", False) and isinstance(filename, (str, bytes, os.PathLike)):
            filename = FontFile(filename)
        return real_ft2font_class(filename, *args, **kwargs)

    FT2Font.__doc__ = real_ft2font_class.__doc__
    return FT2Font


def _for_drawing(get_font):
    """matplotlib's ``_get_font`` (its cache kept: ``cache_clear`` is matplotlib's, which it
    also calls in a forked child), building its fonts from memory."""

    @functools.wraps(get_font)
    def _get_font(*args, **kwargs):
        _building.fonts = True
        try:
            return get_font(*args, **kwargs)
        finally:
            _building.fonts = False

    _get_font.cache_clear = get_font.cache_clear
    _get_font.cache_info = get_font.cache_info
    setattr(_get_font, _MARK, True)
    return _get_font


def _same_font(ft2font) -> bool:
    """True when matplotlib's own DejaVu Sans read from memory names its file and family as
    it does read from the file (an FT2Font that takes a file object and reports it by name)."""
    from matplotlib import cbook

    path = str(cbook._get_data_path("fonts", "ttf", "DejaVuSans.ttf"))
    try:
        from_file = ft2font.FT2Font(path)
        from_memory = ft2font.FT2Font(FontFile(path))
        return (str(from_memory.fname) == str(from_file.fname)
                and (from_memory.family_name, from_memory.num_glyphs)
                == (from_file.family_name, from_file.num_glyphs))
    except Exception:   # any other matplotlib: leave it as it is
        return False


def installed() -> bool:
    """True when matplotlib's font manager builds its fonts from memory (:func:`install`)."""
    import sys

    font_manager = sys.modules.get("matplotlib.font_manager")
    return bool(font_manager is not None and getattr(font_manager.ft2font, _MARK, False)
                and getattr(font_manager._get_font, _MARK, False))


def install() -> bool:
    """Let ``matplotlib.font_manager`` build the fonts it draws with from memory; True when it
    does (also when it already did), False when it was left alone (see the module's
    docstring; why is logged at ``DEBUG`` by ``logging.getLogger("hlstudy._fontdata")``).
    Imports matplotlib's font manager."""
    import matplotlib
    from matplotlib import font_manager, ft2font

    if installed():
        return True
    raw = getattr(matplotlib, "__version__", "")
    version = _version(raw)
    if version is None or version < MIN_MATPLOTLIB:
        _log.debug("fonts left to matplotlib %r: before %d.%d (or a version not read) its PDF "
                   "and PostScript back ends key the fonts they embed by fname itself", raw,
                   *MIN_MATPLOTLIB)
        return False
    get_font = font_manager._get_font
    if font_manager.ft2font is not ft2font:
        _log.debug("fonts left to matplotlib: font_manager.ft2font was replaced by someone else")
        return False
    if not hasattr(get_font, "cache_clear") or getattr(get_font, _MARK, False):
        _log.debug("fonts left to matplotlib: font_manager._get_font was replaced by someone else")
        return False
    if not _same_font(ft2font):
        _log.debug("fonts left to matplotlib %r: DejaVu Sans read from memory does not name its "
                   "file and family as read from the file", raw)
        return False
    namespace = types.ModuleType(ft2font.__name__, ft2font.__doc__)
    namespace.__dict__.update(vars(ft2font))
    namespace.FT2Font = _reading_from_memory(ft2font.FT2Font)
    setattr(namespace, _MARK, True)
    font_manager.ft2font = namespace
    font_manager._get_font = _for_drawing(get_font)
    get_font.cache_clear()   # fonts built from their files before are built again, from memory
    return True


def uninstall() -> None:
    """Give ``matplotlib.font_manager`` back its ``ft2font`` and ``_get_font`` (for tests);
    fonts it built from memory stay in its cache until it forgets them."""
    import sys

    font_manager = sys.modules.get("matplotlib.font_manager")
    if font_manager is None:
        return
    if getattr(font_manager.ft2font, _MARK, False):
        from matplotlib import ft2font

        font_manager.ft2font = ft2font
    if getattr(font_manager._get_font, _MARK, False):
        font_manager._get_font = font_manager._get_font.__wrapped__

"""matplotlib's fonts read from memory (hlstudy._fontdata): the same bytes in every format,
the same font names, and matplotlib left alone where the swap would not be the same."""

import hashlib
import io
import logging
import os
import shutil
import types

import pytest

from hlstudy import _fontdata


def _figure_bytes() -> dict[str, str]:
    """A figure with Vietnamese text, a bold title, mathtext and the minus sign, saved as PNG,
    PDF (TrueType embedded) and SVG (glyphs as paths) with fixed metadata: digest per format."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    font_manager._get_font.cache_clear()   # every font made again, the way now installed
    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "t",
                                "font.family": "DejaVu Sans"}):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [0.5, -0.25, 1.0], label="Chất lượng cán bộ")
        ax.set_title("Hữu Lũng: công chức cấp xã", fontweight="bold")
        ax.set_xlabel(r"$\beta$ chuẩn hoá, $\chi^2$ − 1,5")
        ax.text(0.2, 0.1, "Yên Thịnh ≤ 0,05", style="italic")
        ax.legend()
        out = {}
        for fmt, meta in (("png", None), ("pdf", {"CreationDate": None}), ("svg", {"Date": None})):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=100, metadata=meta)
            out[fmt] = hashlib.sha256(buffer.getvalue()).hexdigest()
        plt.close(fig)
    return out


@pytest.fixture
def from_files():
    """matplotlib as it comes (fonts read through their files) for the test, then back."""
    _fontdata.uninstall()
    assert not _fontdata.installed()
    yield
    _fontdata.install()


def test_figures_are_byte_identical_with_fonts_from_memory(from_files):
    before = _figure_bytes()
    assert _fontdata.install() and _fontdata.installed()
    after = _figure_bytes()
    assert after == before


def test_a_font_from_memory_names_its_file(from_files):
    from matplotlib import font_manager

    path = str(font_manager.findfont("DejaVu Sans"))
    font_manager._get_font.cache_clear()
    plain = font_manager.get_font(path)
    assert isinstance(plain.fname, str)
    _fontdata.install()
    font = font_manager.get_font(path)
    assert font is not plain and isinstance(font.fname, _fontdata.FontFile)
    # what the PDF and PostScript back ends open to embed the font: the same path
    assert font_manager.FontPath(font.fname, font.face_index) == font_manager.FontPath(plain.fname, 0)
    assert str(font.fname) == str(plain.fname) == path
    assert (font.family_name, font.num_glyphs, font.face_index) == (plain.family_name, plain.num_glyphs, 0)
    # fonts built outside _get_font (FontManager.addfont lists them by fname) are matplotlib's own
    listed = font_manager.ttfFontProperty(font_manager.ft2font.FT2Font(path))
    assert isinstance(listed.fname, str) and listed.fname == path


def test_install_is_idempotent_and_uninstall_gives_matplotlib_back(from_files):
    from matplotlib import font_manager, ft2font

    get_font = font_manager._get_font
    assert _fontdata.install()
    namespace, wrapper = font_manager.ft2font, font_manager._get_font
    assert namespace is not ft2font and namespace.StyleFlags is ft2font.StyleFlags
    assert wrapper is not get_font and wrapper.cache_clear == get_font.cache_clear
    assert _fontdata.install() and font_manager.ft2font is namespace and font_manager._get_font is wrapper
    _fontdata.uninstall()
    assert font_manager.ft2font is ft2font and font_manager._get_font is get_font
    assert not _fontdata.installed()


def test_matplotlib_is_left_alone_when_someone_else_replaced_get_font(from_files, monkeypatch):
    from matplotlib import font_manager, ft2font

    def other(*args, **kwargs):
        raise AssertionError("not called")

    monkeypatch.setattr(font_manager, "_get_font", other)
    assert _fontdata.install() is False
    assert font_manager._get_font is other and font_manager.ft2font is ft2font


def test_matplotlib_is_left_alone_when_someone_else_replaced_ft2font(from_files, monkeypatch):
    from matplotlib import font_manager

    other = types.SimpleNamespace(FT2Font=font_manager.ft2font.FT2Font)
    monkeypatch.setattr(font_manager, "ft2font", other)
    assert _fontdata.install() is False
    assert font_manager.ft2font is other and not _fontdata.installed()


def test_matplotlib_is_left_alone_when_its_ft2font_takes_no_file_object(from_files, monkeypatch):
    from matplotlib import font_manager, ft2font

    real = ft2font.FT2Font

    def paths_only(filename, *args, **kwargs):
        if not isinstance(filename, str):
            raise TypeError("First argument must be a path")
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(ft2font, "FT2Font", paths_only)
    assert _fontdata.install() is False
    assert font_manager.ft2font is ft2font


def test_font_bytes_follow_the_file(tmp_path):
    """Same size, new content and modification time: only the time tells the file changed."""
    from matplotlib import font_manager

    path = tmp_path / "font.ttf"
    shutil.copyfile(font_manager.findfont("DejaVu Sans"), path)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    first = _fontdata.font_bytes(str(path))
    assert first == path.read_bytes()
    changed = bytes([first[0] ^ 0xFF]) + first[1:]
    path.write_bytes(changed)
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    assert len(changed) == len(first) and changed != first
    assert _fontdata.font_bytes(str(path)) == changed


def test_font_bytes_keep_one_copy_per_path(tmp_path, monkeypatch):
    """A changed file replaces its bytes; the key (size, mtime) is taken from the opened file."""
    from matplotlib import font_manager

    monkeypatch.setattr(_fontdata, "_BYTES", {})
    path = tmp_path / "font.ttf"
    shutil.copyfile(font_manager.findfont("DejaVu Sans"), path)
    data = path.read_bytes()
    for i in range(1, 4):
        path.write_bytes(bytes([i]) + data[1:])
        os.utime(path, ns=(i * 10**9, i * 10**9))
        assert _fontdata.font_bytes(str(path))[0] == i
    assert list(_fontdata._BYTES) == [str(path)]
    assert _fontdata._BYTES[str(path)][0] == (len(data), 3 * 10**9)

    def no_stat(*args, **kwargs):
        raise AssertionError("the key comes from os.fstat of the open file")

    monkeypatch.setattr(os, "stat", no_stat)
    assert _fontdata.font_bytes(str(path))[0] == 3


@pytest.mark.parametrize("version", ["3.10.8", "3.9.0", "2.2.5", "3.10.0rc1", "main", ""])
def test_matplotlib_before_3_11_is_left_alone(from_files, monkeypatch, caplog, version):
    """Before 3.11 the PDF and PostScript back ends key embedded fonts by ``fname`` itself (a
    str): a FontFile there would break the embedding, so nothing is changed."""
    import matplotlib
    from matplotlib import font_manager, ft2font

    get_font = font_manager._get_font
    monkeypatch.setattr(matplotlib, "__version__", version)
    with caplog.at_level(logging.DEBUG, logger=_fontdata.__name__):
        assert _fontdata.install() is False
    assert font_manager.ft2font is ft2font and font_manager._get_font is get_font
    assert not _fontdata.installed()
    assert any("before 3.11" in r.getMessage() and repr(version) in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("version", ["3.11.0", "3.11.0rc1", "3.12.0.dev5+g1a2b3c", "4.0.1"])
def test_matplotlib_3_11_and_later_read_fonts_from_memory(from_files, monkeypatch, version):
    import matplotlib

    monkeypatch.setattr(matplotlib, "__version__", version)
    assert _fontdata.install() is True and _fontdata.installed()


def test_install_says_why_it_leaves_matplotlib_alone(from_files, monkeypatch, caplog):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager, "ft2font", types.SimpleNamespace(FT2Font=font_manager.ft2font.FT2Font))
    with caplog.at_level(logging.DEBUG, logger=_fontdata.__name__):
        assert _fontdata.install() is False
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "ft2font was replaced" in caplog.records[0].getMessage()


def test_a_missing_font_file_raises_as_matplotlib_does(from_files, tmp_path):
    from matplotlib import font_manager

    missing = str(tmp_path / "none.ttf")
    with pytest.raises(FileNotFoundError) as plain:
        font_manager.get_font(missing)
    _fontdata.install()
    with pytest.raises(FileNotFoundError) as ours:
        font_manager.get_font(missing)
    assert missing in str(plain.value) and missing in str(ours.value)


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(_fontdata)
    assert result.attempted > 0 and result.failed == 0

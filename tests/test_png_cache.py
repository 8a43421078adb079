"""A figure's PNG is encoded once per distinct picture: the cached file is the fresh file (issue 15)."""

import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mimage  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from hlstudy import export  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "png"
    monkeypatch.setattr(export, "_cache_dir", lambda name: folder if name == "png" else None)
    return folder


def _figure(k: float = 0.5):
    # small: the cache is keyed by the pixels whatever their number (a 450 x 300 PNG)
    export.use_style()
    fig, ax = plt.subplots(figsize=(1.5, 1))
    ax.plot(range(20), [i ** k for i in range(20)], label="căn bậc hai")
    ax.legend()
    ax.set_title("Thử nghiệm")
    return fig


def _png(tmp_path, name: str, k: float = 0.5) -> bytes:
    fig = _figure(k)
    try:
        paths = export.save_figure(fig, "99_png_cache", simulated=True, formats=["png"],
                                   directory=tmp_path / name, show=False)
    finally:
        plt.close(fig)
    return paths["png"].read_bytes()


def _fresh(tmp_path, monkeypatch, name: str, k: float = 0.5) -> bytes:
    with monkeypatch.context() as m:
        m.setenv("HLSTUDY_EXPORT_CACHE", "0")
        m.setattr(export, "_cache_dir", lambda name: None)
        return _png(tmp_path, name, k)


@pytest.fixture(scope="module")
def fresh_default(tmp_path_factory):
    """The PNG of ``_figure()`` saved without any cache: the reference of the tests below,
    drawn once for them (the same save every time)."""
    with pytest.MonkeyPatch.context() as m:
        return _fresh(tmp_path_factory.mktemp("fresh-png"), m, "fresh")


def test_cached_png_is_the_fresh_png(cache, fresh_default, tmp_path, monkeypatch):
    fresh = fresh_default
    first = _png(tmp_path, "first")                   # encoded, written to the cache
    assert first == fresh
    assert len(list(cache.iterdir())) == 1

    def encoded_again(*args, **kwargs):
        raise AssertionError("the cached PNG was encoded again")

    imsave = mimage.imsave
    monkeypatch.setattr(mimage, "imsave", encoded_again)
    try:
        assert _png(tmp_path, "second") == fresh         # read from the cache
    finally:
        monkeypatch.setattr(mimage, "imsave", imsave)
    assert mimage.imsave is imsave                      # the wrapper is gone after saving


def test_changed_pixels_are_encoded_again(cache, tmp_path, monkeypatch):
    a = _png(tmp_path, "a", 0.5)
    b = _png(tmp_path, "b", 0.6)
    assert a != b
    assert b == _fresh(tmp_path, monkeypatch, "fresh", 0.6)
    assert len(list(cache.iterdir())) == 2


def test_key_covers_the_encoding_arguments():
    pixels = bytearray(4 * 6)
    base = {"format": "png", "origin": "upper", "dpi": 300, "metadata": {"Software": None},
            "pil_kwargs": None}
    arr = memoryview(pixels).cast("B", (2, 3, 4))
    key = export._png_key(arr, base)
    assert key == export._png_key(memoryview(bytes(pixels)).cast("B", (2, 3, 4)), dict(base))
    assert key != export._png_key(memoryview(pixels).cast("B", (3, 2, 4)), base)   # shape
    pixels[5] = 1
    assert key != export._png_key(arr, base)                                        # a pixel
    pixels[5] = 0
    for change in ({"dpi": 100}, {"origin": "lower"}, {"metadata": {"Software": "x"}},
                   {"pil_kwargs": {"compress_level": 1}}):
        assert key != export._png_key(arr, {**base, **change}), change


def test_a_damaged_cache_file_is_not_used(cache, fresh_default, tmp_path, monkeypatch):
    fresh = _png(tmp_path, "first")
    assert fresh == fresh_default
    (path,) = cache.iterdir()
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert _png(tmp_path, "again") == fresh
    assert _png(tmp_path, "third") == fresh


def test_switched_off_every_png_is_encoded(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSTUDY_EXPORT_CACHE", "0")
    assert export._cache_dir("png") is None
    calls = []
    imsave = mimage.imsave

    def counted(*args, **kwargs):
        calls.append(kwargs.get("format"))
        return imsave(*args, **kwargs)

    monkeypatch.setattr(mimage, "imsave", counted)
    first, second = _png(tmp_path, "a"), _png(tmp_path, "b")
    assert first == second
    assert calls == ["png", "png"]


def test_least_recently_used_files_go_first(tmp_path):
    folder = tmp_path / "png"
    folder.mkdir()
    for i, name in enumerate(["old", "middle", "new"]):
        path = folder / name
        path.write_bytes(b"x" * 100)
        os.utime(path, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    (folder / ".partial.tmp").write_bytes(b"y" * 500)   # a write in progress is not touched
    export._prune(folder, 250)
    assert sorted(p.name for p in folder.iterdir()) == [".partial.tmp", "middle", "new"]
    export._touch(folder / "middle")                     # used again: now the newest
    export._prune(folder, 150)
    assert sorted(p.name for p in folder.iterdir()) == [".partial.tmp", "middle"]


def test_a_file_like_target_is_required_for_caching(cache):
    """Only the backend's own call (a buffer) is served from the cache; a path is passed on."""
    import numpy as np

    arr = np.zeros((2, 2, 4), dtype=np.uint8)
    with export._cached_png():
        out = io.BytesIO()
        mimage.imsave(out, arr, format="png", origin="upper", dpi=300, metadata={"Software": None})
    assert out.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list(cache.iterdir())) == 1
    target = cache.parent / "direct.png"
    with export._cached_png():
        mimage.imsave(target, arr, format="png", origin="upper", dpi=300, metadata={"Software": None})
    assert target.read_bytes() == out.getvalue()      # written as matplotlib writes it
    assert len(list(cache.iterdir())) == 1             # and not cached


def test_every_export_cache_keeps_under_its_limit_dropping_the_least_recently_used(tmp_path, monkeypatch):
    folder = tmp_path / "docx"
    monkeypatch.setitem(export.CACHE_BYTES, "docx", 200)
    for i, key in enumerate(["a", "b"]):
        export._cache_write(folder, key, b"x" * 68)          # 32 bytes of SHA-256 + 68
        os.utime(folder / key, ns=(10**18 + i * 10**9,) * 2)
    assert export._cache_read(folder, "a") == b"x" * 68      # read: now the most recent
    export._cache_write(folder, "c", b"y" * 68)              # 300 bytes > 200: "b" goes
    assert sorted(p.name for p in folder.iterdir()) == ["a", "c"]
    assert export._cache_read(folder, "c") == b"y" * 68

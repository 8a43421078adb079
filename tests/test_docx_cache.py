"""Word tables made before are read back from the disk cache, byte for byte (issue 15)."""

import pandas as pd
import pytest

from hlstudy import export


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "docx"
    monkeypatch.setattr(export, "_cache_dir", lambda name: folder if name == "docx" else None)
    return folder


TABLE = pd.DataFrame({"Xã": ["Hữu Liên", "Yên Bình"], "n": [12, 7], "Trung bình": [3.8123, 4.1]})


def test_cached_table_is_the_fresh_table(cache, monkeypatch):
    fresh = export._docx_bytes(TABLE, title="Bảng 1", note="Ghi chú", decimals=2)
    assert export.table_to_docx_bytes(TABLE, title="Bảng 1", note="Ghi chú", decimals=2) == fresh
    assert len(list(cache.iterdir())) == 1

    def built_again(*args, **kwargs):
        raise AssertionError("the cached table was built again")

    monkeypatch.setattr(export, "_docx_bytes", built_again)
    assert export.table_to_docx_bytes(TABLE, title="Bảng 1", note="Ghi chú", decimals=2) == fresh


def test_any_change_of_input_makes_the_table_again(cache):
    """Each input changed in turn from one base table (one cache folder: each change must
    miss the entries already kept, and is kept beside them)."""
    args = {"title": "Bảng 1", "note": "Ghi chú", "decimals": 2}
    export.table_to_docx_bytes(TABLE, **args)
    for kept, change in enumerate(["value", "title", "note", "decimals", "language"], start=2):
        table, changed = TABLE, dict(args)
        if change == "value":
            table = TABLE.assign(n=[12, 8])
        elif change == "language":
            export.set_language("en")
        else:
            changed[change] = {"title": "Bảng 2", "note": "Khác", "decimals": 3}[change]
        try:
            data = export.table_to_docx_bytes(table, **changed)
            assert data == export._docx_bytes(table, **changed), change
        finally:
            export.set_language("vi")
        assert len(list(cache.iterdir())) == kept, change


def test_a_damaged_cache_file_is_not_used(cache):
    fresh = export.table_to_docx_bytes(TABLE, title="Bảng 1")
    (path,) = cache.iterdir()
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert export.table_to_docx_bytes(TABLE, title="Bảng 1") == fresh


def test_switched_off_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSTUDY_EXPORT_CACHE", "0")
    assert export._cache_dir("docx") is None
    assert export.table_to_docx_bytes(TABLE, title="Bảng 1") == export._docx_bytes(TABLE, title="Bảng 1")

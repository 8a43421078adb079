"""hlstudy._jsoncache: the reading, writing and bounding shared by the fit caches."""

import json
import os
import time

from hlstudy import _jsoncache


def _decode(text: str) -> dict:
    value = json.loads(text)
    if "x" not in value:
        raise KeyError("x")
    return value


def test_read_gives_none_for_no_file_no_path_and_a_damaged_file(tmp_path):
    assert _jsoncache.read(None, _decode) is None
    path = tmp_path / "k.json"
    assert _jsoncache.read(path, _decode) is None
    path.write_text("{not json", encoding="utf-8")
    assert _jsoncache.read(path, _decode) is None
    path.write_text('{"y": 1}', encoding="utf-8")           # decodes, but not what is kept
    assert _jsoncache.read(path, _decode) is None


def test_write_then_read_and_a_read_counts_as_a_use(tmp_path):
    path = tmp_path / "sub" / "k.json"
    _jsoncache.write(path, json.dumps({"x": 0.1.hex()}), most=5)
    assert sorted(p.name for p in path.parent.iterdir()) == ["k.json"], "no temporary file left"
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert _jsoncache.read(path, _decode) == {"x": 0.1.hex()}
    assert path.stat().st_mtime > old + 3000
    _jsoncache.write(None, "{}", most=5)                       # switched off: nothing written


def test_an_unwritable_folder_is_no_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    _jsoncache.write(blocker / "k.json", "{}", most=5)         # parent is a file
    assert blocker.read_text(encoding="utf-8") == ""


def test_prune_drops_the_least_recently_used_beyond_the_bound(tmp_path):
    now = time.time()
    for i in range(12):
        p = tmp_path / f"{i:02d}.json"
        p.write_text("{}", encoding="utf-8")
        os.utime(p, (now - 100 + i, now - 100 + i))            # 00 oldest, 11 newest
    (tmp_path / "other.txt").write_text("", encoding="utf-8")    # not a kept file: never removed
    _jsoncache.prune(tmp_path, 12)
    assert len(list(tmp_path.glob("*.json"))) == 12, "at the bound: nothing removed"
    _jsoncache.prune(tmp_path, 10, keep=8)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == [f"{i:02d}" for i in range(4, 12)]
    _jsoncache.prune(tmp_path, 5)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == [f"{i:02d}" for i in range(7, 12)]
    assert (tmp_path / "other.txt").exists()

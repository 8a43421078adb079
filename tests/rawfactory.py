"""Small, fully known survey exports for the ingest/cleaning tests.

A miniature codebook (three instruments, a handful of items each), its value labels and a
four-commune registry are written to a temporary ``instrument`` folder; :func:`make_rows`
builds valid records and :func:`write_export` writes them as CSV, XLSX or SAV with the
platform's Vietnamese headers.  Tests then damage one thing at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

CODEBOOK = [
    # instrument, variable, order, construct, type, question_vi, value_set, reverse, min, max, required, pii
    ("officials", "commune", 1, "", "commune", "Xã, thị trấn nơi công tác", "", 0, "", "", 1, 0),
    ("officials", "full_name", 2, "", "text", "Họ và tên", "", 0, "", "", 0, 1),
    ("officials", "phone", 3, "", "text", "Số điện thoại", "", 0, "", "", 0, 1),
    ("officials", "birth_year", 4, "", "year", "Năm sinh", "", 0, 1955, 2007, 1, 0),
    ("officials", "sex", 5, "", "category", "Giới tính", "sex", 0, "", "", 1, 0),
    ("officials", "education", 6, "", "category", "Trình độ chuyên môn cao nhất", "edu", 0, "", "", 1, 0),
    ("officials", "years_in_post", 7, "", "integer", "Số năm công tác ở vị trí hiện nay", "", 0, 0, 45, 0, 0),
    ("officials", "appointed", 8, "", "date", "Ngày bổ nhiệm", "", 0, "", "", 0, 0),
    ("officials", "TRAIN1", 9, "TRAIN", "likert", "Tôi được cử đi đào tạo, bồi dưỡng đầy đủ", "agree5", 0, "", "", 1, 0),
    ("officials", "TRAIN2", 10, "TRAIN", "likert", "Nội dung đào tạo phù hợp với công việc", "agree5", 0, "", "", 1, 0),
    ("officials", "TRAIN3", 11, "TRAIN", "likert", "Kiến thức được đào tạo áp dụng được ngay", "agree5", 0, "", "", 1, 0),
    ("officials", "TRAIN4", 12, "TRAIN", "likert", "Đào tạo hiện nay là hình thức, ít tác dụng", "agree5", 1, "", "", 1, 0),
    ("officials", "PRO1", 13, "PRO", "likert", "Tôi nắm vững quy định pháp luật trong lĩnh vực phụ trách", "agree5", 0, "", "", 1, 0),
    ("officials", "PRO2", 14, "PRO", "likert", "Tôi giải quyết hồ sơ đúng hạn", "agree5", 0, "", "", 1, 0),
    ("officials", "PRO3", 15, "PRO", "likert", "Tôi sử dụng thành thạo phần mềm một cửa", "agree5", 0, "", "", 1, 0),
    ("officials", "PRO4", 16, "PRO", "likert", "Tôi thường lúng túng khi gặp việc mới", "agree5", 1, "", "", 1, 0),
    ("officials", "MOT1", 17, "MOT", "likert", "Tôi muốn gắn bó lâu dài với công việc", "agree5", 0, "", "", 1, 0),
    ("officials", "MOT2", 18, "MOT", "likert", "Tôi sẵn sàng làm thêm giờ khi cần", "agree5", 0, "", "", 1, 0),
    ("officials", "MOT3", 19, "MOT", "likert", "Công việc cho tôi cơ hội phát triển", "agree5", 0, "", "", 1, 0),
    ("officials", "comment", 20, "", "text", "Ý kiến khác (nếu có)", "", 0, "", "", 0, 1),
    ("officials", "submitted_at", 21, "", "timestamp", "Thời gian nộp", "", 0, "", "", 0, 0),
    ("officials", "duration_s", 22, "", "duration", "Thời gian trả lời (giây)", "", 0, 0, 86400, 0, 0),
    ("citizens", "commune", 1, "", "commune", "Xã, thị trấn nơi ông/bà làm thủ tục", "", 0, "", "", 1, 0),
    ("citizens", "name", 2, "", "text", "Họ tên người trả lời", "", 0, "", "", 0, 1),
    ("citizens", "age", 3, "", "integer", "Tuổi", "", 0, 18, 100, 1, 0),
    ("citizens", "visit_date", 4, "", "date", "Ngày đến giao dịch", "", 0, "", "", 0, 0),
    ("citizens", "SIP1", 5, "SIPAS", "likert", "Công chức có thái độ giao tiếp lịch sự", "agree5", 0, "", "", 1, 0),
    ("citizens", "SIP2", 6, "SIPAS", "likert", "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo", "agree5", 0, "", "", 1, 0),
    ("citizens", "SIP3", 7, "SIPAS", "likert", "Công chức tuân thủ đúng quy định trong giải quyết công việc", "agree5", 0, "", "", 1, 0),
    ("citizens", "TRU1", 8, "TRUST", "likert", "Tôi tin tưởng chính quyền xã", "agree5", 0, "", "", 1, 0),
    ("citizens", "TRU2", 9, "TRUST", "likert", "Ý kiến của người dân được lắng nghe", "agree5", 0, "", "", 1, 0),
    ("citizens", "TRU3", 10, "TRUST", "likert", "Tôi ngại phản ánh với xã", "agree5", 1, "", "", 1, 0),
    ("citizens", "submitted_at", 11, "", "timestamp", "Thời gian nộp phiếu", "", 0, "", "", 0, 0),
    ("citizens", "duration_s", 12, "", "duration", "Thời gian làm phiếu (giây)", "", 0, 0, 86400, 0, 0),
    ("personnel", "commune", 1, "", "commune", "Đơn vị", "", 0, "", "", 1, 0),
    ("personnel", "full_name", 2, "", "text", "Họ tên cán bộ", "", 0, "", "", 0, 1),
    ("personnel", "position", 3, "", "category", "Chức danh", "position", 0, "", "", 1, 0),
    ("personnel", "birth_year", 4, "", "year", "Năm sinh cán bộ", "", 0, 1955, 2007, 1, 0),
    ("personnel", "education", 5, "", "category", "Trình độ chuyên môn", "edu", 0, "", "", 1, 0),
]
COLUMNS = ["instrument", "variable", "order", "construct", "type", "question_vi", "value_set",
           "reverse", "min", "max", "required", "pii"]

VALUE_LABELS = [
    ("agree5", "1", "Hoàn toàn không đồng ý", "Strongly disagree"),
    ("agree5", "2", "Không đồng ý", "Disagree"),
    ("agree5", "3", "Phân vân", "Neutral"),
    ("agree5", "4", "Đồng ý", "Agree"),
    ("agree5", "5", "Hoàn toàn đồng ý", "Strongly agree"),
    ("sex", "1", "Nam", "Male"),
    ("sex", "2", "Nữ", "Female"),
    ("edu", "1", "Trung học phổ thông", "Upper secondary"),
    ("edu", "2", "Trung cấp", "Intermediate"),
    ("edu", "3", "Cao đẳng", "College"),
    ("edu", "4", "Đại học", "University"),
    ("edu", "5", "Thạc sĩ", "Master"),
    ("position", "1", "Chủ tịch UBND", "Chair of the People's Committee"),
    ("position", "2", "Văn phòng - thống kê", "Office and statistics"),
    ("position", "3", "Tư pháp - hộ tịch", "Justice and civil status"),
]

REGISTRY = pd.DataFrame(
    {
        "code": ["06217", "06256", "06241", "06283"],
        "name": ["Hữu Lũng", "Hữu Liên", "Hòa Lạc", "Yên Bình"],
        "unit_type": ["thị trấn", "xã", "xã", "xã"],
        "lat": [21.5, 21.7, 21.6, 21.55],
        "lon": [106.3, 106.1, 106.4, 106.2],
        "commune_2025": ["Hữu Lũng", "Hữu Liên", "Tân Thành", "Yên Bình"],
    }
)

NAMES = ["Nguyễn Văn An", "Hoàng Thị Bình", "Lộc Văn Cường", "Vi Thị Dung", "Hà Văn Đức", "Lương Thị Hoa"]


def codebook() -> pd.DataFrame:
    return pd.DataFrame([[str(x) for x in row] for row in CODEBOOK], columns=COLUMNS)


def value_labels() -> pd.DataFrame:
    return pd.DataFrame(VALUE_LABELS, columns=["value_set", "code", "label_vi", "label_en"])


def install_reference(monkeypatch, tmp_path: Path) -> Path:
    """Point hlstudy.ingest at the mini codebook and registry (for load_study tests)."""
    from hlstudy import ingest, study

    folder = tmp_path / "instrument"
    folder.mkdir(exist_ok=True)
    codebook().to_csv(folder / "codebook.csv", index=False)
    value_labels().to_csv(folder / "value_labels.csv", index=False)
    monkeypatch.setattr(ingest, "INSTRUMENT", folder)
    monkeypatch.setattr(study, "INSTRUMENT", folder)
    monkeypatch.setattr(ingest, "_registry_frame", lambda registry=None: REGISTRY if registry is None else registry)
    return folder


def header(row: tuple) -> str:
    """Export header: the printed question, Likert items prefixed 'Câu N.'."""
    return f"Câu {row[2]}. {row[5]}" if row[4] == "likert" else row[5]


def spec_rows(instrument: str) -> list[tuple]:
    return [r for r in CODEBOOK if r[0] == instrument]


LIKERT_LABELS = {int(c): label for s, c, label, _ in VALUE_LABELS if s == "agree5"}


def make_rows(instrument: str, n: int = 12, seed: int = 1, likert_as: str = "label") -> pd.DataFrame:
    """n valid records with variable codes as columns (values as an export shows them)."""
    rng = np.random.default_rng(seed)
    communes = ["Hữu Liên", "xã Hòa Lạc", "Yên Bình", "TT Hữu Lũng"]
    records = []
    for i in range(n):
        rec = {}
        for r in spec_rows(instrument):
            var, kind = r[1], r[4]
            if kind == "commune":
                rec[var] = communes[i % len(communes)]
            elif kind == "text":
                rec[var] = NAMES[i % len(NAMES)] if var != "phone" else f"09{i:08d}"
                if var == "comment":
                    rec[var] = f"Tôi là {NAMES[i % len(NAMES)]}, gọi {i:03d}"
            elif kind == "year":
                rec[var] = int(rng.integers(1965, 1995))
            elif kind == "integer":
                rec[var] = int(rng.integers(1, 10)) if var == "years_in_post" else int(rng.integers(20, 80))
            elif kind == "category":
                rec[var] = {"sex": "Nam" if i % 2 else "Nữ", "education": "Đại học" if i % 3 else "Trung cấp",
                            "position": "Văn phòng - thống kê"}[var]
            elif kind == "date":
                rec[var] = f"{(i % 27) + 1:02d}/0{(i % 9) + 1}/2023"
            elif kind == "timestamp":
                rec[var] = f"2024-03-{(i % 27) + 1:02d} 0{i % 10}:15:{i % 60:02d}"
            elif kind == "duration":
                rec[var] = int(600 + 10 * i)
            elif kind == "likert":
                code = int(rng.integers(1, 6))
                rec[var] = LIKERT_LABELS[code] if likert_as == "label" else code
        records.append(rec)
    return pd.DataFrame(records)


def write_export(rows: pd.DataFrame, path: Path, instrument: str | None = None, headers: dict | None = None) -> Path:
    """Write ``rows`` (variable-coded columns) with Vietnamese headers; format from the suffix."""
    instrument = instrument or path.stem
    spec = {r[1]: r for r in spec_rows(instrument)}
    titles = [headers.get(c, header(spec[c])) if headers else header(spec[c]) for c in rows.columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        out = rows.copy()
        out.columns = titles
        out.to_csv(path, index=False, encoding="utf-8")
    elif path.suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = instrument
        ws.append(titles)
        for rec in rows.itertuples(index=False):
            ws.append([_xlsx_value(spec.get(c), v) for c, v in zip(rows.columns, rec, strict=True)])
        wb.save(path)
    elif path.suffix == ".sav":
        import pyreadstat

        out = pd.DataFrame(index=rows.index)
        value_labels_ = {}
        reverse = {int(c): lab for s, c, lab, _ in VALUE_LABELS if s == "agree5"}
        for c in rows.columns:
            kind = spec[c][4]
            col = rows[c]
            if kind == "likert":
                inv = {v: k for k, v in reverse.items()}
                out[c] = [float(inv.get(x, x)) if x is not None and x == x else np.nan for x in col]
                value_labels_[c] = {float(k): v for k, v in reverse.items()}
            elif kind in ("year", "integer", "duration"):
                out[c] = pd.to_numeric(col, errors="coerce").astype(float)
            elif kind == "timestamp":
                out[c] = pd.to_datetime(col, format="%Y-%m-%d %H:%M:%S")
            else:
                out[c] = col.astype(object).where(col.notna(), "").astype(str)
        pyreadstat.write_sav(out, str(path), column_labels=titles, variable_value_labels=value_labels_)
    else:
        raise ValueError(path.suffix)
    return path


def _xlsx_value(row, value):
    if row is not None and row[4] == "timestamp" and isinstance(value, str):
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def make_folder(folder: Path, fmt: str = "csv", n: int = 12, manifest: dict | None = None, **kw) -> Path:
    """A complete data folder (three exports, optional manifest)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    for i, instrument in enumerate(("officials", "citizens", "personnel")):
        write_export(make_rows(instrument, n=n, seed=i + 1, **kw), folder / f"{instrument}.{fmt}")
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (to prove nothing was modified or written)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


class FakeSimulation:
    """Stands in for the object hlstudy.synthetic.simulate() returns (it has .write(folder))."""

    def __init__(self, n: int = 8):
        self.n = n

    def write(self, folder):
        make_folder(Path(folder), "csv", n=self.n, manifest={"simulated": True, "seed": 1})


def generic_rows(instrument: str, n: int, seed: int = 0, codebook_=None, labels_=None, registry=None) -> pd.DataFrame:
    """Valid records for any codebook (default: the project's real one), export headers as columns."""
    from hlstudy import ingest

    cb, vl = ingest.codebook_frames(codebook_, labels_)
    if registry is None:
        from hlstudy.communes import communes

        registry = communes()
    rng = np.random.default_rng(seed)
    rows = cb[cb["instrument"] == instrument]
    out = {}
    for _, r in rows.iterrows():
        kind = r["type"]
        head = f"Câu {r['order']}. {r['question_vi']}" if kind == "likert" else r["question_vi"]
        if kind == "commune":
            values = [registry["name"].iloc[i % len(registry)] for i in range(n)]
        elif kind in ("likert", "category"):
            labels = vl.loc[vl["value_set"] == r["value_set"], "label_vi"].tolist()
            values = [labels[j] for j in rng.integers(0, len(labels), n)]
        elif kind == "year":
            values = [int(x) for x in rng.integers(1965, 1995, n)]
        elif kind == "integer":
            values = [int(x) for x in rng.integers(0, 5, n)]
        elif kind == "date":
            values = [f"{int(d):02d}/0{int(m)}/19{int(y)}" for d, m, y in zip(rng.integers(1, 28, n), rng.integers(1, 9, n), rng.integers(65, 95, n), strict=True)]
        elif kind == "timestamp":
            values = [f"2025-03-{(i % 27) + 1:02d} 08:{i % 60:02d}:00" for i in range(n)]
        elif kind == "duration":
            values = [int(x) for x in rng.integers(500, 1500, n)]
        else:
            values = [f"{NAMES[i % len(NAMES)]} {i}" for i in range(n)]
        out[head] = values
    frame = pd.DataFrame(out)
    if "position_code" in set(rows["variable"]):  # consistent backgrounds
        from hlstudy.legal import positions

        pos = positions()
        kinds = dict(zip(pos["position_code"], pos["kind"], strict=True))
        lab = vl.set_index(["value_set", "code"])["label_vi"]
        head = dict(zip(rows["variable"], rows["question_vi"], strict=True))
        codes = {v: k for (s, k), v in lab.items() if s == "position"}
        frame[head["kind"]] = [lab[("kind", kinds[codes[t]])] for t in frame[head["position_code"]]]
        frame[head["general_education"]] = lab[("general_education", "upper_secondary")]
    if instrument == "personnel":  # start after age 18
        births = pd.to_datetime(frame["Ngày sinh"], format="%d/%m/%Y").dt.year
        frame["Năm giữ chức danh hiện nay"] = (births + 25).clip(upper=2024)
    if instrument == "officials":
        frame["Số năm giữ chức danh hiện nay"] = 2
    return frame

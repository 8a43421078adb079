"""Assemble the three raw exports from simulated people and answers, injecting the faults.

See :mod:`hlstudy.synthetic` (section "Mess of real exports") for the fault list and rates;
:mod:`hlstudy.synthetic._render` holds the fault helpers, rates and expected outcomes.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from hlstudy.synthetic import _render
from hlstudy.synthetic._people import SURVEY_YEAR
from hlstudy.synthetic._render import EXPECTED, fmt_time

LEDGER_COLUMNS = ["instrument", "source_row", "person_id", "fault", "column", "raw_value",
                  "detail", "expected"]
ROW_COLUMNS = ["instrument", "source_row", "person_id", "commune_code", "duplicate_of_row",
               "expected_drop"]
SURVEY_DROP_FAULTS = ["straightline", "speeder", "scale_blank", "commune_blank", "duplicate",
                      "impossible_tenure", "impossible_degree", "background_out_of_range"]
COMMENTS = (
    "Cảm ơn chị {name} ở bộ phận một cửa đã hướng dẫn tận tình.",
    "Anh {name} bên tư pháp làm việc rất nhiệt tình, chu đáo.",
    "Đề nghị xã niêm yết công khai đầy đủ thủ tục và lệ phí.",
    "Thời gian chờ còn lâu, nên bố trí thêm người tiếp dân.",
    "Cán bộ địa chính cần hướng dẫn rõ ràng hơn, tôi phải đi lại nhiều lần.",
    "Nên có thêm ghế ngồi chờ và nước uống cho người dân.",
    "Đường truyền mạng hay bị chậm nên phải chờ lâu.",
    "Không có ý kiến gì thêm.",
    "Mong xã trả lời kiến nghị của thôn sớm hơn.",
    "Tôi là {full}, số điện thoại {phone}, đề nghị xã liên hệ lại về hồ sơ đất.",
)


class _Labels:
    def __init__(self, codebook):
        self.codebook = codebook
        self._cache: dict[str, dict[str, str]] = {}

    def __call__(self, value_set: str, code) -> str:
        if code == "" or code is None:
            return ""
        return self.table(value_set)[str(code)]

    def table(self, value_set: str) -> dict[str, str]:
        """Code (text) → label of ``value_set``, read once."""
        if value_set not in self._cache:
            lab = self.codebook.value_labels(value_set)
            self._cache[value_set] = dict(zip(lab["code"], lab["label_vi"], strict=True))
        return self._cache[value_set]


class _LabelTables(dict):
    """Variable → its value set's code → label table, each read when first asked for (as
    ``labels(var_set[v], code)`` reads it)."""

    def __init__(self, labels: _Labels, var_set: dict[str, str]):
        super().__init__()
        self.labels, self.var_set = labels, var_set

    def __missing__(self, variable: str) -> dict[str, str]:
        table = self[variable] = self.labels.table(self.var_set[variable])
        return table


def _row_dicts(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict(orient="records")`` from whole columns (``tolist``: Python scalars and
    Timestamps, as ``to_dict`` boxes them) instead of boxing cell by cell."""
    names = list(df.columns)
    columns = [df.iloc[:, j].tolist() for j in range(len(names))]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _given_names(officials: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(commune, gender) → the given names of its officials, in table order (the groups of
    ``groupby(["commune_code", "gender"])``, built in one pass)."""
    out: dict[tuple[str, str], list[str]] = {}
    for c, gd, name in zip(officials["commune_code"], officials["gender"], officials["full_name"],
                           strict=True):
        if c == c and gd == gd:  # groupby leaves out missing keys
            out.setdefault((c, gd), []).append(name.split()[-1])
    return out


def _headers(cb: pd.DataFrame) -> dict[str, str]:
    # the columns' cells as ``itertuples`` gives them (iterating each column), row by row
    return {v: (f"Câu {order}. {question}" if t == "likert" else question)
            for v, order, question, t in zip(cb["variable"], cb["order"], cb["question_vi"],
                                             cb["type"], strict=True)}


def _column_order(cb: pd.DataFrame) -> list[str]:
    pairs = list(zip(cb["variable"], cb["type"], strict=True))
    ts = [v for v, t in pairs if t == "timestamp"]
    dur = [v for v, t in pairs if t == "duration"]
    rest = [v for v, _ in pairs if v not in ts + dur]
    return ts + rest + dur


def _ledger(pid, fault, column="", raw_value="", detail=""):
    return {"person_id": pid, "fault": fault, "column": column, "raw_value": str(raw_value),
            "detail": detail, "expected": EXPECTED[fault]}


def build_exports(rng, rng_names, reg, off, answered, items_off, cit, items_cit, rates,
                  codebook):
    """Return ``(exports, rows, faults)``: raw DataFrames by instrument, the row map, the ledger."""
    labels = _Labels(codebook)
    reg_info = {r.code: (r.name, r.unit_type) for r in reg.itertuples(index=False)}
    all_names = reg["name"].tolist()
    exports, row_tables, ledgers = {}, [], []
    resp = off[answered].reset_index(drop=True)
    items = items_off[answered].reset_index(drop=True)
    for instrument, people, answers in (("officials", resp, items), ("citizens", cit, items_cit)):
        df, rows, led = _survey(instrument, rng, rng_names, people, answers,
                                rates[instrument], codebook, labels, reg_info, all_names, off)
        exports[instrument] = df
        row_tables.append(rows)
        ledgers.append(led)
    df, rows, led = _personnel(rng, off, rates["personnel"], codebook, labels, reg_info,
                               all_names)
    exports["personnel"] = df
    row_tables.append(rows)
    ledgers.append(led)
    rows = pd.concat(row_tables, ignore_index=True)[ROW_COLUMNS]
    faults = pd.concat(ledgers, ignore_index=True)[LEDGER_COLUMNS]
    rank = {"officials": 0, "citizens": 1, "personnel": 2}
    faults = faults.sort_values(["instrument", "source_row", "fault", "column"],
                                key=lambda s: s.map(rank) if s.name == "instrument" else s,
                                ignore_index=True)
    return exports, rows, faults


def _commune_cell(rng, code, variant, reg_info, all_names):
    name, unit_type = reg_info[code]
    if not variant:
        return name, None
    text, kind = _render.commune_variant(rng, name, unit_type, all_names)
    return text, kind


def _survey(instrument, rng, rng_names, people, answers, r, codebook, labels, reg_info,
            all_names, officials_all):
    cb = codebook.load_codebook(instrument)
    var_type = dict(zip(cb["variable"], cb["type"], strict=True))
    var_set = dict(zip(cb["variable"], cb["value_set"], strict=True))
    likert = cb.loc[cb["type"] == "likert", "variable"].tolist()
    keyed = pd.to_numeric(cb.loc[cb["type"] == "likert", "reverse"], errors="coerce").fillna(0)
    contradictory = bool((keyed == 1).any() and (keyed == 0).any())  # a uniform run contradicts
    # the groups of ``groupby("construct", sort=False)`` of the Likert rows: constructs in
    # order of first appearance, items in codebook order, a missing construct left out
    scales: dict[str, list[str]] = {}
    for v, t, c in zip(cb["variable"], cb["type"], cb["construct"], strict=True):
        if t == "likert" and not pd.isna(c):
            scales.setdefault(c, []).append(v)
    n = len(people)
    times = _render.timestamps(rng, people["commune_code"].tolist(), instrument)
    durs = _render.durations(rng, n, instrument)
    picked = _render.pick_disjoint(rng, n, r, SURVEY_DROP_FAULTS)
    straight = set(picked["straightline"])
    flags = {f: rng.random(n) < r.get(f, 0.0) for f in
             ("likert_text", "nfd", "commune_variant", "phone_blank", "comment")}
    blank_cells = rng.random((n, len(likert))) < r.get("item_blank", 0.0)
    oor_cells = rng.random((n, len(likert))) < r.get("out_of_range", 0.0)
    # records without a blank or out-of-range Likert cell (most): their answers are written
    # in one step, and they are not searched for an incomplete scale below
    plain = (~(blank_cells.any(axis=1) | oor_cells.any(axis=1))).tolist()
    answer_lists = answers[likert].to_numpy(dtype=int).tolist()
    variables = cb["variable"].tolist()
    given = _given_names(officials_all) if "comment" in variables else {}
    chosen = {f: set(rows) for f, rows in picked.items()}  # membership tests per record
    none: set[int] = set()
    label_of = _LabelTables(labels, var_set)
    background = [v for v in variables if var_type[v] in ("category", "year", "integer")]
    # the people's columns read below (not, e.g., the officials' birth dates)
    read = ["person_id", "commune_code", *background, "full_name", "phone"]
    people_rows = _row_dicts(people[[c for c in dict.fromkeys(read) if c in people]])
    # the variables the "background and the rest" pass writes: a Likert item meets none of
    # its branches (its cells are written above)
    rest = [(v, var_type[v]) for v in variables if var_type[v] != "likert"]
    records = []
    for i in range(n):
        p = people_rows[i]
        pid = p["person_id"]
        faults = []
        answers_i = answer_lists[i]  # the Likert codes, in the order of ``likert``
        codes: dict[str, object] = {v: p[v] for v in background}
        # impossible backgrounds and typed numbers (officials)
        if i in chosen.get("impossible_tenure", none) and "years_in_post" in codes:
            age = SURVEY_YEAR - int(codes["birth_year"])
            bad = age - 18 + int(rng.integers(3, 10))
            codes["years_in_post"] = bad
            faults.append(_ledger(pid, "impossible_tenure", "years_in_post", bad,
                                  f"{bad} years in post at age {age}"))
        if i in chosen.get("impossible_degree", none) and "education_level" in codes:
            codes.update(birth_year=SURVEY_YEAR - 20, education_level="university",
                         general_education="upper_secondary", years_in_post=0)
            faults.append(_ledger(pid, "impossible_degree", "education_level",
                                  labels("education_level", "university"),
                                  f"university degree with birth year {SURVEY_YEAR - 20} "
                                  "(age 20); birth year and years in post also altered"))
        oor_text = {}
        if i in chosen.get("background_out_of_range", none) and "birth_year" in codes:
            if rng.random() < 0.5:
                oor_text["birth_year"] = f"{int(codes['birth_year']) % 100:02d}"
                faults.append(_ledger(pid, "background_out_of_range", "birth_year",
                                      oor_text["birth_year"], "birth year typed with two digits"))
            else:
                oor_text["trainings_24m"] = "99"
                faults.append(_ledger(pid, "background_out_of_range", "trainings_24m", "99",
                                      "training courses typed as 99"))
        text_row = bool(flags["likert_text"][i])
        if text_row:
            faults.append(_ledger(pid, "likert_text", "", "", "Likert answers as label text"))
        cells: dict[str, str] = {}
        whole = True  # every Likert cell an answer (no blank, no out-of-range value)
        # Likert answers
        if i in straight:
            value = int(rng.choice([3, 4, 5], p=[0.2, 0.5, 0.3]))
            for v in likert:
                cells[v] = labels(var_set[v], value) if text_row else str(value)
            faults.append(_ledger(pid, "straightline", "", value,
                                  f"the same answer ({value}) to all {len(likert)} Likert items"))
            if not contradictory:  # no reverse-keyed item: a uniform answer is kept, flagged
                faults[-1]["expected"] = "flag:straightlining"
        else:
            blank_scale = []
            if i in chosen.get("scale_blank", none):
                construct = list(scales)[int(rng.integers(len(scales)))]
                blank_scale = scales[construct]
                faults.append(_ledger(pid, "scale_blank", construct, "",
                                      f"all {len(blank_scale)} {construct} items blank"))
            if plain[i] and not blank_scale:
                # the loop below with neither blank nor out-of-range cells (no draw either);
                # the answers are the integers 1-5 of ``answer_lists``
                if text_row:
                    cells.update((v, label_of[v][str(c)])
                                 for v, c in zip(likert, answers_i, strict=True))
                else:
                    cells.update(zip(likert, map(str, answers_i), strict=True))
            else:
                whole = False
                blank_set = set(blank_scale)
                blank_i, oor_i = blank_cells[i].tolist(), oor_cells[i].tolist()
                for j, v in enumerate(likert):
                    if v in blank_set:
                        cells[v] = ""
                    elif oor_i[j]:
                        bad = _render.OUT_OF_RANGE_VALUES[int(rng.integers(5))]
                        cells[v] = bad
                        faults.append(_ledger(pid, "out_of_range", v, bad, "Likert answer "
                                              "typed outside 1–5"))
                    elif blank_i[j]:
                        cells[v] = ""
                        faults.append(_ledger(pid, "item_blank", v, "",
                                              "Likert answer left blank"))
                    else:
                        c = answers_i[j]
                        cells[v] = (("" if c == "" or c is None else label_of[v][str(c)])
                                    if text_row else str(c))
        # background and the rest
        for v, t in rest:
            if t in ("category",):
                c = codes[v]
                cells[v] = "" if c == "" or c is None else label_of[v][str(c)]
            elif t in ("year", "integer"):
                cells[v] = oor_text.get(v, str(int(codes[v])))
            elif t == "commune":
                if i in chosen["commune_blank"]:
                    cells[v] = ""
                    faults.append(_ledger(pid, "commune_blank", v, "", "commune left blank"))
                else:
                    text, kind = _commune_cell(rng, p["commune_code"], flags["commune_variant"][i],
                                               reg_info, all_names)
                    cells[v] = text
                    if kind:
                        faults.append(_ledger(pid, "commune_variant", v, text, kind))
            elif t == "timestamp":
                cells[v] = fmt_time(times[i])
            elif t == "duration":
                d = int(durs[i])
                if i in chosen["speeder"]:
                    med = _render.MEDIAN_DURATION[instrument]
                    d = int(round(med * rng.uniform(*_render.SPEEDER_SHARE)))
                    faults.append(_ledger(pid, "speeder", v, d,
                                          f"completed in {d} s (median {med:.0f} s)"))
                cells[v] = str(d)
            elif v == "full_name":
                cells[v] = p["full_name"]
            elif v == "phone":
                if flags["phone_blank"][i]:
                    cells[v] = ""
                    faults.append(_ledger(pid, "phone_blank", v, "", "phone left blank"))
                else:
                    cells[v] = p["phone"]
            elif v == "comment":
                cells[v] = _comment(rng_names, given, p["commune_code"]) if \
                    flags["comment"][i] else ""
        if flags["nfd"][i]:
            cells = {k: _render.nfd(x) for k, x in cells.items()}
            faults.append(_ledger(pid, "nfd", "", "", "every text cell in Unicode NFD"))
        records.append({"pid": pid, "code": p["commune_code"], "ts": times[i], "copy": None,
                        "cells": cells, "faults": faults, "i": i, "whole": whole})
    # duplicate submissions: the same answers sent again a little later
    if picked["duplicate"]:
        dur_var = cb.loc[cb["type"] == "duration", "variable"].iloc[0]
        ts_var = cb.loc[cb["type"] == "timestamp", "variable"].iloc[0]
    for i in picked["duplicate"]:
        orig = records[i]
        cells = dict(orig["cells"])
        ts = orig["ts"] + pd.Timedelta(seconds=int(rng.integers(120, 2400)))
        cells[ts_var] = fmt_time(ts)
        cells[dur_var] = str(int(_render.durations(rng, 1, instrument)[0]))
        records.append({"pid": orig["pid"], "code": orig["code"], "ts": ts, "copy": i,
                        "whole": orig["whole"], "cells": cells, "faults": [
                            _ledger(orig["pid"], "duplicate", "", "",
                                    f"second submission of the answers sent at "
                                    f"{fmt_time(orig['ts'])}")], "i": None})
    # by time (a Timestamp's nanoseconds order as the Timestamps do, compared as integers)
    records.sort(key=lambda rec: (rec["ts"].value, rec["pid"], rec["copy"] is not None))
    row_of = {}
    for k, rec in enumerate(records):
        rec["row"] = k + 2
        if rec["copy"] is None:
            row_of[rec["i"]] = rec["row"]
    # records left with more than half of a scale unreadable (blank or out of range)
    oor = set(_render.OUT_OF_RANGE_VALUES)
    for rec in records:
        if rec["whole"] or any(f["fault"] in ("scale_blank", "straightline")
                               for f in rec["faults"]):
            continue
        for construct, members in scales.items():
            bad = sum(rec["cells"][m] == "" or rec["cells"][m] in oor for m in members)
            if bad > 0.5 * len(members):
                rec["faults"].append(_ledger(rec["pid"], "scale_incomplete", construct, "",
                                             f"{bad} of {len(members)} {construct} items blank "
                                             "or out of range"))
                break
    order = _column_order(cb)
    headers = _headers(cb)
    table = pd.DataFrame([[rec["cells"][v] for v in order] for rec in records],
                         columns=[headers[v] for v in order], dtype=object)
    led, rows = [], []
    for rec in records:
        kinds = {f["fault"] for f in rec["faults"]}
        drop = ""
        for rule, fault in (("duplicates", {"duplicate"}), ("missing_required", {"commune_blank"}),
                            ("speeders", {"speeder"}),
                            ("straightlining", {"straightline"} if contradictory else set())):
            if kinds & fault:
                drop = rule
                break
        rows.append({"instrument": instrument, "source_row": rec["row"], "person_id": rec["pid"],
                     "commune_code": rec["code"],
                     "duplicate_of_row": row_of[rec["copy"]] if rec["copy"] is not None else None,
                     "expected_drop": drop})
        for f in rec["faults"]:
            led.append(dict(f, instrument=instrument, source_row=rec["row"]))
    if instrument == "citizens":
        table, extra = _nfd_headers(rng, table, cb, headers)
        led += extra
    return table, pd.DataFrame(rows), pd.DataFrame(led, columns=LEDGER_COLUMNS)


def _nfd_headers(rng, table, cb, headers, k=3):
    """Three headers of the citizens' export in NFD (a spreadsheet edited on a Mac)."""
    candidates = [v for v in cb["variable"] if unicodedata.normalize("NFD", headers[v]) !=
                  headers[v]]
    chosen = sorted(rng.choice(len(candidates), size=min(k, len(candidates)), replace=False))
    rename, led = {}, []
    for j in chosen:
        v = candidates[int(j)]
        rename[headers[v]] = unicodedata.normalize("NFD", headers[v])
        led.append({"instrument": "citizens", "source_row": 1, "person_id": "", "fault":
                    "header_nfd", "column": v, "raw_value": "", "detail": "header in NFD",
                    "expected": EXPECTED["header_nfd"]})
    return table.rename(columns=rename), led


def _comment(rng, given: dict, commune_code: str) -> str:
    """A citizen's free-text comment; some name an official of the commune (addressed as
    chị/anh by gender) or give the citizen's own name and phone: personal data."""
    from hlstudy.synthetic._people import full_name, phone

    template = _render_choice(rng, COMMENTS)
    gender = "female" if "chị" in template else "male"
    names = given.get((commune_code, gender)) or given.get(
        (commune_code, "male" if gender == "female" else "female"), ["Hà"])
    own = "female" if rng.random() < 0.5 else "male"
    return template.format(name=names[int(rng.integers(len(names)))],
                           full=full_name(rng, own), phone=phone(rng))


def _render_choice(rng, options):
    return options[int(rng.integers(len(options)))]


def _fmt_date(d: pd.Timestamp) -> str:
    """``d.strftime("%d/%m/%Y")`` (formatted directly for four-digit years, as
    :func:`~hlstudy.synthetic._render.fmt_time`)."""
    if 1000 <= d.year <= 9999:
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    return d.strftime("%d/%m/%Y")


def _personnel(rng, off, r, codebook, labels, reg_info, all_names):
    """The personnel register: one record per post held, sorted by commune and staff code.

    Cells are made column by column; only the records that draw (an impossible tenure, a
    blank category, a mistyped commune) are visited one by one, in record order, so the
    draws are those of a record-by-record pass."""
    cb = codebook.load_codebook("personnel")
    var_type = dict(zip(cb["variable"], cb["type"], strict=True))
    var_set = dict(zip(cb["variable"], cb["value_set"], strict=True))
    n = len(off)
    flags = {f: rng.random(n) < r.get(f, 0.0) for f in
             ("nfd", "commune_variant", "category_case", "date_unpadded")}
    picked = _render.pick_disjoint(rng, n, r, ["impossible_tenure", "background_out_of_range",
                                               "background_blank"])
    variables = cb["variable"].tolist()
    categories = [v for v in variables if var_type[v] == "category"
                  and v not in ("kind", "position_code")]
    pids = off["person_id"].tolist()
    codes = off["commune_code"].tolist()
    case = flags["category_case"].tolist()
    unpadded = flags["date_unpadded"].tolist()
    variant = flags["commune_variant"].tolist()
    # each record's faults in the order of a record-by-record pass: the tenure first, then
    # the variables' in codebook order, then the letter case and NFD
    position = {v: k for k, v in enumerate(variables)}
    faults: list[list[tuple[int, dict]]] = [[] for _ in range(n)]

    def add(i: int, rank: int, fault: dict) -> None:
        faults[i].append((rank, fault))

    cols: dict[str, list[str]] = {}
    for v in variables:
        t = var_type[v]
        if t == "category":
            values = off[v].tolist()
            table = labels.table(var_set[v]) if any(
                not (c == "" or c is None) for c in values) else {}
            texts = ["" if c == "" or c is None else table[str(c)] for c in values]
            if v == "kind":
                cols[v] = [x.upper() if k and x else x for x, k in zip(texts, case, strict=True)]
            else:
                cols[v] = [x.lower() if k and x else x for x, k in zip(texts, case, strict=True)]
        elif t == "commune":
            cols[v] = [reg_info[c][0] for c in codes]
        elif t == "date":
            cells = []
            for i, d in enumerate(off["birth_date"].tolist()):
                padded = _fmt_date(d)
                if unpadded[i]:
                    text = f"{d.day}/{d.month}/{d.year}"
                    if text != padded:
                        add(i, position[v], _ledger(pids[i], "date_unpadded", v, text,
                                                 "date typed without zero padding"))
                    cells.append(text)
                else:
                    cells.append(padded)
            cols[v] = cells
        elif v == "start_year":
            cols[v] = [str(int(x)) for x in off["start_year"].tolist()]
        elif v == "trainings_24m":
            cols[v] = [str(int(x)) for x in off[v].tolist()]
            for i in picked["background_out_of_range"]:
                cols[v][i] = "99"
                add(i, position[v], _ledger(pids[i], "background_out_of_range", v, "99",
                                         "training courses typed as 99"))
        else:
            cols[v] = [str(x) for x in off[v].tolist()]
    # the records that draw, in record order: tenure, then the blanked category, then the commune
    tenure, blanked = set(picked["impossible_tenure"]), set(picked["background_blank"])
    commune_vars = [v for v in variables if var_type[v] == "commune"]
    birth = off["birth_year"].tolist() if tenure else []
    drawing = sorted(tenure | blanked | {i for i in range(n) if variant[i]})
    for i in drawing:
        pid = pids[i]
        if i in tenure:
            start_year = int(birth[i]) + int(rng.integers(8, 16))
            if "start_year" in cols:
                cols["start_year"][i] = str(start_year)
            add(i, -1, _ledger(pid, "impossible_tenure", "start_year", start_year,
                                     f"in post since age {start_year - int(birth[i])}"))
        if i in blanked:
            blank_var = categories[int(rng.integers(len(categories)))]
            cols[blank_var][i] = ""
            add(i, position[blank_var], _ledger(pid, "background_blank", blank_var, "", "left blank"))
        if variant[i]:
            for v in commune_vars:
                text, kind = _commune_cell(rng, codes[i], True, reg_info, all_names)
                cols[v][i] = text
                if kind:
                    add(i, position[v], _ledger(pid, "commune_variant", v, text, kind))
    for i in range(n):
        if case[i]:
            add(i, len(variables), _ledger(pids[i], "category_case", "", "", "labels typed in other case"))
    for i in np.flatnonzero(flags["nfd"]).tolist():
        for v in variables:
            cols[v][i] = _render.nfd(cols[v][i])
        add(i, len(variables) + 1, _ledger(pids[i], "nfd", "", "", "every text cell in Unicode NFD"))
    staff = off["staff_code"].tolist()
    order = sorted(range(n), key=lambda i: (codes[i], staff[i]))
    headers = _headers(cb)
    table = pd.DataFrame({headers[v]: [cols[v][i] for i in order] for v in variables},
                         dtype=object)
    rows, led = [], []
    for k, i in enumerate(order):
        rows.append({"instrument": "personnel", "source_row": k + 2, "person_id": pids[i],
                     "commune_code": codes[i], "duplicate_of_row": None, "expected_drop": ""})
        led += [dict(f, instrument="personnel", source_row=k + 2)
                for _, f in sorted(faults[i], key=lambda rf: rf[0])]
    return table, pd.DataFrame(rows), pd.DataFrame(led, columns=LEDGER_COLUMNS)

"""Simulated people: the staffing of each commune, officials' and citizens' backgrounds, names.

All distributions are stated in :mod:`hlstudy.synthetic`'s docstring; draws come from the
generator passed in, so that a seed fixes everything.
"""

from __future__ import annotations

import bisect
import datetime
from functools import lru_cache

import numpy as np
import pandas as pd

SURVEY_YEAR = 2025
#: Statutory retirement ages in 2025 (rounded down): men 61, women 56.
RETIREMENT = {"male": 61, "female": 56}

#: Age range (inclusive) by position.
AGE_RANGE = {
    "BT_DU": (38, 58), "CT_UBND": (36, 58), "CT_HDND": (38, 58),
    "PBT_DU": (33, 56), "PCT_HDND": (33, 56), "PCT_UBND": (31, 56),
    "CT_MTTQ": (35, 58), "CT_HCCB": (45, 61), "CT_HND": (35, 58), "CT_HLHPN": (30, 54),
    "BT_DOAN": (24, 33),
}
CIVIL_SERVANT_AGE = (23, 58)
#: Probability of being male by position (civil-servant titles and cadres).
MALE_SHARE = {
    "CT_HLHPN": 0.0, "BT_DOAN": 0.5, "CHT_QS": 1.0, "VH_XH": 0.5, "TC_KT": 0.3,
    "VP_TK": 0.45, "TP_HT": 0.45, "DC": 0.75,
}
CADRE_MALE_SHARE = 0.8
#: Civil servants per title beyond the first, relative weights.
EXTRA_TITLE_WEIGHTS = {"VP_TK": 0.28, "DC": 0.24, "VH_XH": 0.20, "TP_HT": 0.16, "TC_KT": 0.12}
VACANCY_PROBABILITY = 0.25  # each of two possible vacancies per commune
#: Probability that a commune has one civil servant above its quota (Decree 33 allows extra
#: civil servants for larger population or area).
EXTRA_POST_PROBABILITY = 0.2
#: Posts never left vacant in the simulation.
KEY_POSTS = ("BT_DU", "CT_UBND", "CT_HDND", "CHT_QS")
#: Probability of a second vice-chair of the People's Committee, drawn only in units whose
#: class allows two (:func:`hlstudy.legal.title_limit`, ``data/reference/title_limits.csv``:
#: Decree 08/2016/NĐ-CP Art. 7 as amended by Decree 69/2020/NĐ-CP, loại I and II).
SECOND_PCT_UBND = 0.5

#: Education (professional) as an ordered probit: marginal shares of the levels.
EDU_LEVELS = ("none", "elementary", "intermediate", "college", "university", "master", "doctorate")
EDU_SHARES = (0.008, 0.02, 0.23, 0.06, 0.63, 0.052, 0.0)
EDU_COMMUNE_SD = 0.45
EDU_AGE_SLOPE = -0.025  # per year of age above 40
EDU_CADRE_SHIFT = -0.10

FIELDS_CADRE = {
    "political_science": 0.30, "administration": 0.20, "law": 0.15, "economics_finance": 0.10,
    "agriculture": 0.10, "education": 0.05, "other": 0.10,
}
FIELDS_UNFIT = ("education", "health", "other", "political_science", "agriculture")
FIELD_FIT_PROBABILITY = 0.82

POLITICAL_THEORY = ("none", "elementary", "intermediate", "advanced")
POLITICAL_THEORY_P = {
    "can_bo": (0.05, 0.23, 0.60, 0.12),
    "leader": (0.0, 0.0, 0.70, 0.30),  # BT_DU, CT_UBND, CT_HDND
    "cong_chuc": (0.20, 0.45, 0.32, 0.03),
}
STATE_MGMT = ("none", "officer", "principal")
STATE_MGMT_P = {"can_bo": (0.20, 0.65, 0.15), "cong_chuc": (0.25, 0.70, 0.05)}
IT_CERT = ("none", "basic", "advanced")
IT_CERT_P = (0.15, 0.72, 0.13)
ETHNIC_LANGUAGE_P = 0.12

AGE_BANDS = ("18_29", "30_44", "45_59", "60_plus")
AGE_BAND_P = (0.18, 0.34, 0.32, 0.16)
SERVICES = ("civil_status", "certification", "land", "social_policy", "business", "other")
SERVICE_P = (0.32, 0.25, 0.22, 0.10, 0.05, 0.06)
CITIZEN_FEMALE_SHARE = 0.52

#: Local ethnic concentration (the project's reference notes): Dao mainly in Hữu Liên, Cao Lan (Sán Chay) in
#: Thiện Kỵ, now Thiện Tân; the town is more Kinh.  Multipliers of the district shares.
ETHNIC_MULTIPLIERS = {"Hữu Liên": {"dao": 20.0}, "Thiện Tân": {"san_chay": 8.0},
                      "Hữu Lũng": {"kinh": 1.6}}

FAMILY = ("Nguyễn", "Hoàng", "Lương", "Vi", "Lăng", "Nông", "Hà", "Lê", "Trần", "Phạm",
          "Đặng", "Lý", "Mông", "Chu", "Đinh", "Triệu", "Hứa", "Vũ", "Ngô", "Dương")
MIDDLE = {"male": ("Văn", "Đức", "Minh", "Quang", "Văn", "Xuân"),
          "female": ("Thị", "Thị", "Thu", "Ngọc", "Thị", "Hồng")}
GIVEN = {
    "male": ("Hùng", "Dũng", "Tuấn", "Thắng", "Cường", "Hải", "Long", "Sơn", "Tùng", "Bình",
             "Quân", "Hưng", "Kiên", "Nam", "Phong", "Toàn", "Khánh", "Thành", "Đạt", "Lâm"),
    "female": ("Hoa", "Lan", "Hương", "Thủy", "Hạnh", "Mai", "Nga", "Huyền", "Trang", "Linh",
               "Thảo", "Yến", "Phương", "Hằng", "Dung", "Loan", "Nhung", "Vân", "Tuyết", "Hà"),
}


def _choice(rng, options, p):
    """``options[rng.choice(len(options), p=p / sum(p))]`` without the overhead of
    ``Generator.choice``: the same steps as its weighted branch (cumulative sum divided by
    its last value, one ``random()`` draw, ``searchsorted(side="right")``), so the same
    draw and the same random stream."""
    key = p if type(p) is tuple else tuple(np.asarray(p, dtype=float).tolist())
    return options[bisect.bisect_right(_cdf(key), rng.random())]


def _as_p(p) -> tuple[float, ...]:
    """``p`` as the tuple :func:`_choice` makes of a list or array (the same key, the same
    draw), for a distribution used many times."""
    return tuple(np.asarray(p, dtype=float).tolist())


@lru_cache(maxsize=1024)
def _cdf(p: tuple) -> tuple[float, ...]:
    """The cumulative distribution :func:`_choice` searches (``searchsorted(side="right")`` on
    a nondecreasing array is ``bisect_right``), computed once per distinct ``p``."""
    a = np.asarray(p, dtype=float)
    cdf = (a / a.sum()).cumsum()
    cdf /= cdf[-1]
    return tuple(cdf.tolist())


def staffing(rng, communes: pd.DataFrame, unit_classes: dict[str, str], quota,
             title_limit=None) -> pd.DataFrame:
    """One row per official post held: ``commune_code, kind, position_code``.

    Cadres: the 11 positions of Decree 33, one each, and a second PCT_UBND with probability
    :data:`SECOND_PCT_UBND` where ``title_limit("PCT_UBND", unit_type, unit_class)`` allows
    two (loại I and II; the draw is made in every unit so that the random stream does not
    depend on the class).  Civil servants fill the quota for the commune's type and class —
    one per title, the rest spread by :data:`EXTRA_TITLE_WEIGHTS` over the titles without a
    limit of one (one military commander only), one more with probability
    :data:`EXTRA_POST_PROBABILITY` — then 0–2 posts outside :data:`KEY_POSTS` are vacant
    (Binomial(2, :data:`VACANCY_PROBABILITY`)).  ``title_limit`` defaults to
    :func:`hlstudy.legal.title_limit` (``data/reference/title_limits.csv``), the limits that
    :func:`hlstudy.diagnostic.staffing.title_counts` checks; no title ends above its limit.
    """
    from hlstudy import legal
    from hlstudy.synthetic import _positions

    limit = title_limit or legal.title_limit
    cadres, titles = _positions()
    rules: dict[tuple, tuple] = {}  # (unit type, class) -> quota, PCT_UBND limit, extra titles

    def rules_of(unit_type, uc) -> tuple:
        # ``quota`` and ``limit`` are lookups: asked once per kind of unit, not per unit
        if (unit_type, uc) not in rules:
            names = [t for t in EXTRA_TITLE_WEIGHTS
                     if (lim := limit(t, unit_type, uc)) is None or lim > 1]
            weights = np.array([EXTRA_TITLE_WEIGHTS[t] for t in names])
            rules[unit_type, uc] = (quota(unit_type, uc), limit("PCT_UBND", unit_type, uc),
                                    names, weights / weights.sum())
        return rules[unit_type, uc]

    rows = []
    # the units by code (codes are unique: the order of ``sort_values("code")``)
    for code, unit_type in sorted(zip(communes["code"], communes["unit_type"], strict=True)):
        uc = unit_classes[code]
        q, max_pct, names, p_names = rules_of(unit_type, uc)
        posts = [("can_bo", p) for p in cadres]
        second = rng.random() < SECOND_PCT_UBND
        if second and (max_pct is None or max_pct >= 2):
            posts.append(("can_bo", "PCT_UBND"))
        extra = q - len(posts) - len(titles) + int(rng.random() < EXTRA_POST_PROBABILITY)
        more = rng.choice(len(names), size=max(extra, 0), p=p_names)
        posts += [("cong_chuc", t) for t in titles] + [("cong_chuc", names[i]) for i in more]
        vacancies = int(rng.binomial(2, VACANCY_PROBABILITY))
        can_go = [i for i, (_, p) in enumerate(posts) if p not in KEY_POSTS]
        gone = set(rng.choice(can_go, size=vacancies, replace=False).tolist())
        rows += [(code, k, p) for i, (k, p) in enumerate(posts) if i not in gone]
    return pd.DataFrame(rows, columns=["commune_code", "kind", "position_code"])


def ethnic_probabilities(shares: pd.Series, commune_name: str) -> pd.Series:
    p = shares.copy()
    for code, m in ETHNIC_MULTIPLIERS.get(commune_name, {}).items():
        p[code] = p[code] * m
    return p / p.sum()


def _ethnic_p(shares: pd.Series, commune_name: str) -> tuple[float, ...]:
    """``_as_p(ethnic_probabilities(shares, commune_name).to_numpy())``, remembered by the
    shares' codes and values and the commune's name (a pure function of them)."""
    return _ethnic_p_of(tuple(shares.index), tuple(shares.to_numpy(dtype=float).tolist()),
                        commune_name)


@lru_cache(maxsize=256)
def _ethnic_p_of(codes: tuple, values: tuple[float, ...], commune_name: str
                 ) -> tuple[float, ...]:
    shares = pd.Series(values, index=list(codes), dtype=float)
    return _as_p(ethnic_probabilities(shares, commune_name).to_numpy())


def officials_backgrounds(rng, posts: pd.DataFrame, communes: pd.DataFrame, shares: pd.Series,
                          field_fit: dict[str, list[str]]) -> pd.DataFrame:
    """Background of every official, consistent by construction (ages, tenure, degrees)."""
    names = dict(zip(communes["code"], communes["name"], strict=True))
    codes = sorted(names)
    edu_u = dict(zip(codes, rng.normal(0, EDU_COMMUNE_SD, len(codes)), strict=True))
    # the standard normal quantiles: ``scipy.stats.norm.ppf``'s kernel (``ndtri``, the same
    # floats without its argument handling); imported here, not at import: `python -m
    # hlstudy.synthetic --help`
    from scipy.special import ndtri

    cut_list = ndtri(np.cumsum(EDU_SHARES)[:-1].clip(1e-9, 1 - 1e-9)).tolist()
    ethnic = list(shares.index)
    # the distributions as the tuples ``_choice`` turns its arrays into, made once
    ethnic_p = {c: _ethnic_p(shares, n) for c, n in names.items()}
    cadre_fields, cadre_p = list(FIELDS_CADRE), _as_p(list(FIELDS_CADRE.values()))
    it_p_young = _as_p(np.array(IT_CERT_P) + np.array([-0.05, 0, 0.05]))
    it_p_other = _as_p(np.array(IT_CERT_P) + 0)
    out = []  # one tuple per official, in the order of COLUMNS
    for i, r in enumerate(posts.itertuples(index=False)):
        pos, kind = r.position_code, r.kind
        male_p = MALE_SHARE.get(pos, CADRE_MALE_SHARE if kind == "can_bo" else 0.5)
        gender = "male" if rng.random() < male_p else "female"
        lo, hi = AGE_RANGE.get(pos, CIVIL_SERVANT_AGE)
        hi = min(hi, RETIREMENT[gender])
        age = int(rng.integers(lo, hi + 1))
        birth_year = SURVEY_YEAR - age
        birth_date = _day_of_year(birth_year, int(rng.integers(0, 365)))
        eth = _choice(rng, ethnic, ethnic_p[r.commune_code])
        # professional education: ordered probit with commune effect, age and kind shifts
        star = (edu_u[r.commune_code] + EDU_AGE_SLOPE * (age - 40)
                + (EDU_CADRE_SHIFT if kind == "can_bo" else 0.0) + rng.standard_normal())
        level = EDU_LEVELS[bisect.bisect_left(cut_list, star)]  # np.searchsorted(cuts, star)
        if level in ("university", "college") and age < 22:
            level = "intermediate"
        if level in ("master", "doctorate") and age < 26:
            level = "university"
        old = age > 45
        if (level in ("none", "elementary") and old and rng.random() < 0.5) or (
                level == "intermediate" and age > 50 and rng.random() < 0.08):
            general = "lower_secondary"
        else:
            general = "upper_secondary"
        if level == "none":
            field = ""
        elif kind == "cong_chuc":
            fits = field_fit.get(pos, [])
            if fits and rng.random() < FIELD_FIT_PROBABILITY:
                field = fits[int(rng.integers(len(fits)))]
            else:
                unfit = [f for f in FIELDS_UNFIT if f not in fits]
                field = unfit[int(rng.integers(len(unfit)))]
        else:
            field = _choice(rng, cadre_fields, cadre_p)
        leader = pos in ("BT_DU", "CT_UBND", "CT_HDND")
        pt = _choice(rng, POLITICAL_THEORY, POLITICAL_THEORY_P["leader" if leader else kind])
        sm = _choice(rng, STATE_MGMT, STATE_MGMT_P[kind])
        it = _choice(rng, IT_CERT, it_p_young if age < 35 else it_p_other)
        lang = "yes" if rng.random() < ETHNIC_LANGUAGE_P else "no"
        max_years = max(age - 20, 0)
        if kind == "can_bo" and pos != "BT_DOAN":
            u = rng.random()
            years = int(rng.integers(4, 6)) if u < 0.6 else (
                int(rng.integers(9, 11)) if u < 0.75 else int(rng.integers(0, 4)))
        else:
            years = int(np.floor(rng.random() ** 1.3 * (max_years + 1)))
        years = min(years, max_years)
        out.append((f"O{i + 1:04d}", r.commune_code, kind, pos, gender, birth_year,
                    birth_date, age, eth, general, level, field, pt, sm, it, lang, years,
                    SURVEY_YEAR - years))
    # column by column (a frame of dicts infers the same types, more slowly)
    df = pd.DataFrame(dict(zip(OFFICIAL_COLUMNS, map(list, zip(*out, strict=True)), strict=True))
                      if out else {c: [] for c in OFFICIAL_COLUMNS})
    assert_consistent(df)
    return df


#: The columns of :func:`officials_backgrounds`.
OFFICIAL_COLUMNS = ("person_id", "commune_code", "kind", "position_code", "gender", "birth_year",
                    "birth_date", "age", "ethnicity", "general_education", "education_level",
                    "field_of_study", "political_theory", "state_mgmt_training", "it_cert",
                    "ethnic_language_cert", "years_in_post", "start_year")


@lru_cache(maxsize=1 << 15)
def _day_of_year(year: int, day: int) -> pd.Timestamp:
    """``pd.Timestamp(year, 1, 1) + pd.Timedelta(days=day)`` (immutable, made once), from the
    standard library's date arithmetic (the same instant and unit, a fifth of the time)."""
    return pd.Timestamp(datetime.datetime(year, 1, 1) + datetime.timedelta(days=day))


def assert_consistent(df: pd.DataFrame) -> None:
    """Raise if a simulated background is impossible (a bug of the generator, not data)."""
    from hlstudy.errors import ModelError

    start_age = df["start_year"] - df["birth_year"]
    degree = df["education_level"].isin(["university", "master", "doctorate"])
    bad = (start_age < 18) | (degree & (df["age"] < 22)) | (df["age"] < 18)
    if bad.any():
        raise ModelError(f"generator produced impossible backgrounds: {df[bad].person_id.tolist()}")


def edu_rank(levels: pd.Series) -> np.ndarray:
    return levels.map({lvl: i for i, lvl in enumerate(EDU_LEVELS)}).to_numpy(dtype=float)


def citizens_backgrounds(rng, communes: pd.DataFrame, n_per_commune: int,
                         shares: pd.Series) -> pd.DataFrame:
    rows = []
    k = 0
    eth_options = list(shares.index)  # the index of every commune's probabilities
    for c in communes.sort_values("code").itertuples(index=False):
        eth_p = _ethnic_p(shares, c.name)
        for _ in range(n_per_commune):
            k += 1
            # drawn in this order: gender, age band, ethnicity, service
            gender = "female" if rng.random() < CITIZEN_FEMALE_SHARE else "male"
            age_band = _choice(rng, AGE_BANDS, AGE_BAND_P)
            rows.append((f"C{k:04d}", c.code, gender, age_band, _choice(rng, eth_options, eth_p),
                         _choice(rng, SERVICES, SERVICE_P)))
    # column by column (a frame of dicts infers the same types, more slowly)
    return pd.DataFrame(dict(zip(CITIZEN_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
                        if rows else {c: [] for c in CITIZEN_COLUMNS})


#: The columns of :func:`citizens_backgrounds`.
CITIZEN_COLUMNS = ("person_id", "commune_code", "gender", "age_band", "ethnicity", "service_used")


def full_name(rng, gender: str) -> str:
    return " ".join([
        FAMILY[int(rng.integers(len(FAMILY)))],
        MIDDLE[gender][int(rng.integers(len(MIDDLE[gender])))],
        GIVEN[gender][int(rng.integers(len(GIVEN[gender])))],
    ])


def phone(rng) -> str:
    prefix = ("091", "094", "098", "097", "086", "036", "038", "083", "088", "035")[
        int(rng.integers(10))]
    digits = prefix + "".join(map(str, rng.integers(0, 10, 7).tolist()))
    style = int(rng.integers(4))
    if style == 0:
        return digits
    if style == 1:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if style == 2:
        return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    return "+84" + digits[1:]

"""A parser of lavaan model syntax (the subset used by CFA and SEM papers).

Understood (lavaan's ``lavaanify`` semantics, lavaan 0.6):

* ``f =~ x1 + x2 + x3``  measurement (latent ``f`` measured by ``x1``...);
* ``y ~ x1 + x2``        regression (latent or observed on both sides);
* ``a ~~ b``             (residual) variance or covariance;
* ``y ~ 1``              intercept (mean structure);
* ``ind := a*b``          defined parameter (arithmetic over labels: ``+ - * / **``,
  parentheses, numbers; the delta method gives its standard error);
* modifiers before a variable: a label ``a*x``, a fixed value ``1*x`` / ``0*x`` /
  ``-1.5*x``, ``NA*x`` (free, e.g. a first loading that would be fixed);
* ``#`` and ``!`` comments, several statements per line separated by ``;``, and
  statements continued over lines (a line ending in an operator or ``+``, or the
  next line starting with ``+``, continues the statement).

Not understood (a :class:`~hlstudy.errors.ModelError` says so): thresholds ``|``,
formative ``<~``, constraints ``==``/``<``/``>``, ``c(...)`` group vectors,
``start()``/``equal()`` modifiers.

:func:`parse_model` returns a list of :class:`Statement` (one per left-hand /
right-hand pair), the raw material of :func:`hlstudy.sem.sem` and of
:func:`hlstudy.cfa.cfa` when it is given a string.

Example
-------
>>> rows = parse_model('''
... visual =~ x1 + x2 + x3   # three items
... speed  =~ x7 + b*x8 + 0.5*x9
... speed ~ visual
... ''')
>>> [(r.lhs, r.op, r.rhs, r.label, r.fixed) for r in rows][4:]
[('speed', '=~', 'x8', 'b', None), ('speed', '=~', 'x9', '', 0.5), ('speed', '~', 'visual', '', None)]
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from hlstudy.errors import ModelError

__all__ = ["Statement", "parse_model", "defined_names"]

_OPS = ("=~", "~~", ":=", "<~", "==", "~", "|", "<", ">")
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Statement:
    """One parsed ``lhs op rhs`` element of the model syntax.

    ``fixed`` is the fixed value (None when not fixed); ``free`` is True for an
    explicit ``NA*`` modifier; ``expr`` holds the right-hand side of ``:=``.
    """

    lhs: str
    op: str
    rhs: str
    label: str = ""
    fixed: float | None = None
    free: bool = False
    expr: str = ""
    line: int = 0


def _strip_comment(line: str) -> str:
    out = []
    quote = None
    for ch in line:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "#!":
            break
        out.append(ch)
    return "".join(out)


def _statements(text: str) -> list[tuple[int, str]]:
    """Split into (first line number, statement text), joining continued lines."""
    pieces: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        for part in _strip_comment(raw).split(";"):
            part = part.strip()
            if part:
                pieces.append((lineno, part))
    out: list[tuple[int, str]] = []
    for lineno, part in pieces:
        if out:
            prev_line, prev = out[-1]
            continues = prev.endswith(("+", "*", "=~", "~", ":=")) or part.startswith(("+", "*"))
            if continues:
                out[-1] = (prev_line, prev + " " + part)
                continue
        out.append((lineno, part))
    return out


def _find_op(stmt: str, lineno: int) -> tuple[str, int]:
    for op in _OPS:
        pos = stmt.find(op)
        if pos >= 0:
            if op in ("<~", "==", "|", "<", ">"):
                raise ModelError(
                    f"model syntax, line {lineno}: operator {op!r} is not supported by hlstudy "
                    f"(in {stmt!r}); supported: =~, ~, ~~, :="
                )
            return op, pos
    raise ModelError(
        f"model syntax, line {lineno}: no operator (=~, ~, ~~, :=) in {stmt!r}"
    )


def _term(term: str, lineno: int, stmt: str) -> tuple[str, str, float | None, bool]:
    """Parse ``[modifier*]name`` -> (name, label, fixed, free)."""
    parts = [t.strip() for t in term.split("*")]
    if any(not t for t in parts):
        raise ModelError(f"model syntax, line {lineno}: empty term near {term!r} in {stmt!r}")
    if len(parts) > 2:
        raise ModelError(
            f"model syntax, line {lineno}: token {term!r} has more than one modifier "
            f"(use one of label*x, number*x, NA*x) in {stmt!r}")
    name = parts[-1]
    label, fixed, free = "", None, False
    if len(parts) == 2:
        mod = parts[0]
        if mod == "NA":
            free = True
        elif _NUMBER.match(mod):
            fixed = float(mod)
        elif _NAME.match(mod):
            label = mod
        else:
            raise ModelError(
                f"model syntax, line {lineno}: token {mod!r} is not a label, a number or NA "
                f"in {stmt!r}")
    if name == "1":
        return "", label, fixed, free
    if not _NAME.match(name):
        raise ModelError(f"model syntax, line {lineno}: token {name!r} is not a variable name "
                         f"in {stmt!r}")
    return name, label, fixed, free


_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
            ast.Pow, ast.USub, ast.UAdd, ast.Constant, ast.Name, ast.Load)


def defined_names(expr: str, lineno: int = 0) -> list[str]:
    """Labels used by a ``:=`` expression; a ModelError for anything but arithmetic."""
    try:
        tree = ast.parse(expr.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ModelError(f"model syntax, line {lineno}: cannot read the expression {expr!r}") \
            from None
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ModelError(
                f"model syntax, line {lineno}: {type(node).__name__} is not allowed in a "
                f"defined parameter ({expr!r}); use labels, numbers, + - * / ^ and parentheses")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ModelError(f"model syntax, line {lineno}: token {node.value!r} in {expr!r}")
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


def parse_model(text: str) -> list[Statement]:
    """Parse lavaan model syntax into a list of :class:`Statement`.

    Raises
    ------
    ModelError
        On any syntax error; the message names the line (1-based) and the token.
    """
    if not isinstance(text, str):
        raise ModelError(f"model syntax must be a string, got {type(text).__name__}")
    out: list[Statement] = []
    for lineno, stmt in _statements(text):
        op, pos = _find_op(stmt, lineno)
        lhs = stmt[:pos].strip()
        rhs = stmt[pos + len(op):].strip()
        if not lhs:
            raise ModelError(f"model syntax, line {lineno}: nothing left of {op!r} in {stmt!r}")
        if not rhs:
            raise ModelError(f"model syntax, line {lineno}: nothing right of {op!r} in {stmt!r}")
        if not _NAME.match(lhs):
            raise ModelError(f"model syntax, line {lineno}: token {lhs!r} left of {op!r} is not "
                             f"a name (in {stmt!r})")
        if op == ":=":
            defined_names(rhs, lineno)
            out.append(Statement(lhs, op, "", label=lhs, expr=rhs.replace("^", "**"),
                                 line=lineno))
            continue
        if re.search(r"\b(c|start|equal|label)\s*\(", rhs):
            raise ModelError(f"model syntax, line {lineno}: modifier functions (c(), start(), "
                             f"equal(), label()) are not supported (in {stmt!r})")
        terms = [t.strip() for t in rhs.split("+")]
        for term in terms:
            if not term:
                raise ModelError(f"model syntax, line {lineno}: a '+' without a term in {stmt!r}")
            name, label, fixed, free = _term(term, lineno, stmt)
            if name == "":
                if op != "~":
                    raise ModelError(f"model syntax, line {lineno}: token '1' only allowed in an "
                                     f"intercept 'y ~ 1' (in {stmt!r})")
                out.append(Statement(lhs, "~1", "", label, fixed, free, line=lineno))
                continue
            if op == "=~" and name == lhs:
                raise ModelError(f"model syntax, line {lineno}: {lhs!r} cannot measure itself")
            if op == "~" and name == lhs:
                raise ModelError(f"model syntax, line {lineno}: {lhs!r} regressed on itself")
            out.append(Statement(lhs, op, name, label, fixed, free, line=lineno))
    if not out:
        raise ModelError("model syntax is empty (no statement found)")
    seen: dict[tuple[str, str, str], int] = {}
    for s in out:
        key = (s.lhs, s.op, s.rhs)
        if s.op == "~~":
            key = (min(s.lhs, s.rhs), "~~", max(s.lhs, s.rhs))
        if key in seen:
            raise ModelError(f"model syntax, line {s.line}: {s.lhs} {s.op} {s.rhs} is already "
                             f"specified on line {seen[key]}")
        seen[key] = s.line
    return out

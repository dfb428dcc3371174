r"""Strict parsing of numbers and exact values typed by a user: nothing is ever evaluated.

Every string that reaches the library (command-line flags, string parameters of the Python API) is read
here, by walking Python's :mod:`ast` over a whitelist of node types and building the value directly
(:class:`fractions.Fraction` or sympy objects).  ``eval``, ``exec`` and ``sympy.sympify`` are never called
on user text, so no string can run code, import a module or reach an attribute.

Accepted syntax
---------------
* integer and decimal literals, read exactly: ``2``, ``1.05`` (= 21/20), ``2.5e-3``, ``1_000``;
* fractions and arithmetic: ``21/20``, ``1 + 1/20``, ``-3``, ``2*3``, ``(1 - 1/4)``;
* integer powers with a bounded exponent, :math:`|e| \le` :data:`MAX_EXPONENT`: ``2**-3``, ``10**6``;
* the constants ``pi`` and ``E`` and the function ``sqrt(...)`` (exact values only; numeric parameters
  take their float value);
* symbol names, only where the caller allows them (the symbolic engine: ``sigma_w2``, ``L``, ...).

Everything else is refused with a :class:`ValueError` that names the parameter: other names, calls,
attributes, subscripts, lambdas, strings, comprehensions, ``nan``/``inf`` and values that are not finite
(``1e999999``, division by zero) or too large to be represented as a float (:math:`|x| \ge 10^{300}`),
and texts longer than :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction

__all__ = ["MAX_EXPONENT", "MAX_TEXT", "MAX_MAGNITUDE", "SYNTAX", "parse_real", "parse_exact", "parse_depth",
           "parse_positive_int"]

#: Largest |exponent| of a power: enough for any scale typed by hand (2**-64), small enough that no power
#: of an accepted base can exhaust memory (10**10**10 is refused).
MAX_EXPONENT = 64
#: Longest accepted text: a number or short formula, never a program.
MAX_TEXT = 200
#: Largest magnitude of a number (and of every intermediate result): the values must stay representable as
#: floats, which every numeric part of the library uses.
MAX_MAGNITUDE = 10**300

#: One line describing the accepted syntax, for error messages and --help.
SYNTAX = "a number such as 1.05, 21/20, 2**-3, sqrt(2) or pi/2 (no other names or calls; finite values only)"

_NONFINITE = {"nan", "inf", "infinity", "oo", "zoo", "-inf"}
_SYMBOL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CONSTANTS = ("pi", "E")
_FUNCTIONS = ("sqrt",)


def _fail(name: str, text, why: str) -> ValueError:
    return ValueError(f"{name}={text!r} is not accepted: {why}; write {SYNTAX}")


class _Exact:
    """Builder of exact values: Fractions while possible, sympy objects for pi, E, sqrt and symbols."""

    def __init__(self, name: str, text: str, symbols):
        self.name, self.text, self.symbols = name, text, symbols

    def fail(self, why: str) -> ValueError:
        return _fail(self.name, self.text, why)

    def check(self, value):
        if isinstance(value, Fraction):
            if abs(value) >= MAX_MAGNITUDE or (value != 0 and abs(value) <= Fraction(1, MAX_MAGNITUDE)):
                raise self.fail("the value is beyond the float range (|x| must lie in (1e-300, 1e300) or be 0)")
            return value
        import sympy as sp

        if value.has(sp.nan, sp.oo, -sp.oo, sp.zoo):
            raise self.fail("the value is not finite")
        if value.is_number:
            v = float(abs(value))
            if not math.isfinite(v) or v >= 1e300 or 0 < v <= 1e-300:
                raise self.fail("the value is beyond the float range (|x| must lie in (1e-300, 1e300) or be 0)")
        return value

    def walk(self, node):  # noqa: C901, PLR0911, PLR0912 - one branch per whitelisted node type
        if isinstance(node, ast.Expression):
            return self.walk(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.fail(f"the literal {node.value!r} is not a real number")
            if isinstance(node.value, float):
                if not math.isfinite(node.value):
                    raise self.fail("the value is not finite")
                segment = ast.get_source_segment(self.text, node)
                value = Fraction(segment.replace("_", "")) if segment else Fraction(repr(node.value))
                return self.check(value)
            return self.check(Fraction(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = self.walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            a = self.walk(node.left)
            b = self.walk(node.right)
            return self.check(self.binop(node.op, a, b))
        if isinstance(node, ast.Name):
            return self.name_value(node.id)
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
                raise self.fail("calls are not accepted (only sqrt(...))")
            if len(node.args) != 1 or node.keywords:
                raise self.fail("sqrt takes exactly one argument")
            import sympy as sp

            arg = self.walk(node.args[0])
            if isinstance(arg, Fraction):
                arg = sp.Rational(arg.numerator, arg.denominator)
            if arg.is_number and arg.is_negative:
                raise self.fail("sqrt of a negative number is not real")
            return self.check(sp.sqrt(arg))
        raise self.fail(f"{type(node).__name__.lower()} expressions are not accepted")

    def binop(self, op, a, b):
        if isinstance(op, ast.Pow):
            if not (isinstance(b, Fraction) and b.denominator == 1):
                raise self.fail("powers need an integer exponent")
            if abs(b) > MAX_EXPONENT:
                raise self.fail(f"exponents are limited to |e| <= {MAX_EXPONENT}")
            if a == 0 and b < 0:
                raise self.fail("division by zero")
            return a ** int(b)
        if isinstance(op, ast.Div) and b == 0:
            raise self.fail("division by zero")
        if isinstance(a, Fraction) != isinstance(b, Fraction):
            import sympy as sp

            a, b = (sp.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x for x in (a, b))
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        return a / b

    def name_value(self, ident: str):
        import sympy as sp

        if ident.lower() in _NONFINITE:
            raise self.fail("the value is not finite")
        if ident == "pi":
            return sp.pi
        if ident == "E":
            return sp.E
        if self.symbols and _SYMBOL_RE.match(ident) and ident not in _FUNCTIONS:
            return sp.Symbol(ident, positive=True)
        raise self.fail(f"the name {ident!r} is not accepted"
                        + ("" if self.symbols else " (symbol names are only for the symbolic engine)"))


def _tree(text, name: str) -> tuple[str, ast.Expression]:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string here, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise _fail(name, text, "the text is empty")
    if len(stripped) > MAX_TEXT:
        raise _fail(name, text[:40] + "...", f"the text is longer than {MAX_TEXT} characters")
    if stripped.lower().lstrip("+-") in _NONFINITE:
        raise _fail(name, text, "the value is not finite")
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _fail(name, text, "it is not a formula") from exc
    return stripped, tree


def parse_exact(text: str, name: str, *, symbols: bool = False):
    """The exact value spelled by ``text``: a :class:`~fractions.Fraction` for rational numbers, otherwise a
    sympy expression (with ``pi``, ``E``, ``sqrt`` and, when ``symbols`` is true, positive symbols).

    Raises
    ------
    ValueError
        Anything outside the syntax of the module docstring, naming ``name``.
    TypeError
        ``text`` is not a string.
    """
    stripped, tree = _tree(text, name)
    try:
        return _Exact(name, stripped, symbols).walk(tree)
    except RecursionError as exc:
        raise _fail(name, text, "the formula is nested too deeply") from exc


def parse_real(text: str, name: str) -> float:
    """The finite float spelled by ``text`` (exact arithmetic, then rounded once): ``"1.05"``, ``"21/20"``,
    ``"pi/2"``, ``"2**-3"``.  Symbol names, ``nan`` and ``inf`` are refused with a ValueError naming
    ``name``."""
    value = parse_exact(text, name)
    out = float(value)
    if not math.isfinite(out):
        raise _fail(name, text, "the value is not finite")
    return out


def parse_positive_int(text: str, name: str, *, maximum: int | None = None) -> int:
    """An integer ``1 <= n <= maximum`` written with digits only (``"16"``; not ``"1e9"`` or ``"2.0"``)."""
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string here, got {type(text).__name__}")
    t = text.strip().lstrip("+")
    if not t.isdigit() or not t.isascii():
        raise ValueError(f"{name} must be an integer >= 1 written with digits, got {text!r}")
    if len(t) > 20:
        raise ValueError(f"{name} must be at most {maximum}, got {text!r}")
    n = int(t)
    if n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {text!r}")
    if maximum is not None and n > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {text!r}")
    return n


def parse_depth(text: str, name: str = "depth", *, maximum: int | None = None):
    """A depth: a positive integer (``"16"``) or a symbol name (``"L"``), returned as int or str."""
    if isinstance(text, str) and _SYMBOL_RE.match(text.strip()):
        ident = text.strip()
        if ident.lower() in _NONFINITE:
            raise ValueError(f"{name} must be an integer >= 1 or a symbol name such as L, got {text!r}")
        return ident
    try:
        return parse_positive_int(text, name, maximum=maximum)
    except ValueError as exc:
        raise ValueError(f"{exc} (or a symbol name such as L)") from exc

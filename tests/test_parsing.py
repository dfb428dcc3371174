"""The strict parser of user text: exact values for the accepted syntax, a refusal naming the parameter for
anything else, and nothing ever evaluated."""

from fractions import Fraction

import pytest
import sympy as sp

from spectral.parsing import MAX_EXPONENT, parse_depth, parse_exact, parse_positive_int, parse_real

#: Texts that would run code, reach attributes or produce non-finite values if they were evaluated.
INJECTIONS = [
    '__import__("os").system("echo PWNED")',
    "lambda: 1",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    'exec("x")',
    'eval("1")',
    "open('/etc/passwd')",
    "1e999999",
    "10**10**10",
    "nan",
    "inf",
    "-inf",
    "oo",
    "zoo",
    "1/0",
    "[1][0]",
    "(1, 2)",
    "'1'",
    "True",
    "1 if 1 else 2",
    "x := 1",
    "sqrt(2, 3)",
    "sqrt(x=2)",
    "(-1)**(1/2)",
    "1" * 300,
    "",
]


@pytest.mark.parametrize(("text", "value"), [
    ("1.05", Fraction(21, 20)), ("21/20", Fraction(21, 20)), ("2**-3", Fraction(1, 8)), ("-3", Fraction(-3)),
    ("+2.5e-3", Fraction(1, 400)), ("1_000", Fraction(1000)), ("(1 - 1/4) * 2", Fraction(3, 2)),
    (" 7 ", Fraction(7)), ("0", Fraction(0)),
])
def test_rational_values_are_exact(text, value):
    assert parse_exact(text, "x") == value
    assert parse_real(text, "x") == float(value)


def test_constants_and_sqrt_are_exact_sympy():
    assert parse_exact("sqrt(2)", "x") == sp.sqrt(2)
    assert parse_exact("pi/2", "x") == sp.pi / 2
    assert parse_exact("E**2", "x") == sp.E ** 2
    assert parse_real("sqrt(2)", "x") == pytest.approx(2 ** 0.5, rel=1e-16)


def test_symbols_only_where_allowed():
    s = parse_exact("sigma_w2**2 / 2", "sigma_w2", symbols=True)
    assert s == sp.Symbol("sigma_w2", positive=True) ** 2 / 2
    with pytest.raises(ValueError, match="sigma_w2=.*the name 'sigma_w2' is not accepted"):
        parse_exact("sigma_w2", "sigma_w2")
    for name in ("nan", "inf", "oo", "zoo"):  # never a symbol, even where symbols are allowed
        with pytest.raises(ValueError, match="not finite"):
            parse_exact(name, "p", symbols=True)


@pytest.mark.parametrize("text", INJECTIONS)
def test_injections_are_refused_naming_the_parameter(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for symbols in (False, True):
        with pytest.raises(ValueError, match=r"^my_param="):
            parse_exact(text, "my_param", symbols=symbols)
    with pytest.raises(ValueError, match=r"^my_param="):
        parse_real(text, "my_param")
    assert list(tmp_path.iterdir()) == []  # nothing was written (nor run)


def test_code_is_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    with pytest.raises(ValueError):
        parse_exact(f'__import__("pathlib").Path({str(marker)!r}).touch()', "x", symbols=True)
    assert not marker.exists()


def test_exponent_and_magnitude_bounds():
    assert parse_exact(f"2**{MAX_EXPONENT}", "x") == 2 ** MAX_EXPONENT
    with pytest.raises(ValueError, match="exponents are limited"):
        parse_exact(f"2**{MAX_EXPONENT + 1}", "x")
    with pytest.raises(ValueError, match="float range"):
        parse_exact("(10**60)**6", "x")  # 1e360: finite as a rational, not as a float
    with pytest.raises(ValueError, match="integer exponent"):
        parse_exact("2**0.5", "x")
    with pytest.raises(TypeError, match="x must be a string"):
        parse_exact(1.5, "x")


@pytest.mark.parametrize(("text", "value"), [("16", 16), ("+3", 3), ("L", "L"), ("depth", "depth")])
def test_depth_digits_or_symbol(text, value):
    assert parse_depth(text, "--depth", maximum=100) == value


@pytest.mark.parametrize("text", ["1e9", "0", "-1", "2.0", "nan", "inf", "101", "1_0", "٣", "__import__('os')"])
def test_depth_refusals_name_the_parameter(text):
    with pytest.raises(ValueError, match="^--depth"):
        parse_depth(text, "--depth", maximum=100)
    with pytest.raises(ValueError, match="^n"):
        parse_positive_int(text, "n", maximum=100)


@pytest.mark.parametrize("text", ["leaky_relu(nan)", "leaky_relu(1e999999)", 'leaky_relu(__import__("os"))',
                                  "elu(alpha=inf)"])
def test_activation_parameters_are_parsed_strictly(text):
    """A spelled activation's parameter goes through the strict parser: refused naming the parameter."""
    from spectral.activations import activation

    with pytest.raises(ValueError, match="alpha"):
        activation(text)

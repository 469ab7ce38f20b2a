"""Canonical string form of an extracted answer (pure string work, no sympy).

It removes what never changes the value: math delimiters, ``\\left``/``\\right``,
spacing commands, ``\\text{}`` units, degrees, currency, thousands separators,
unicode look-alikes; it rewrites ``\\dfrac`` to ``\\frac``, plain ``sqrt(..)``/``pi``
to LaTeX, ``inf`` to ``\\infty``, and ``x = 5`` to ``5``. All regexes are linear-time.

Example:
    >>> normalize_answer("\\\\$1,\\\\!000.")
    '1000'
    >>> normalize_answer("x = \\\\dfrac{\\\\pi}{2}\\\\text{ radians}")
    '\\\\frac{\\\\pi}{2}'
    >>> normalize_answer("−5^{\\\\circ}")
    '-5'
"""

from __future__ import annotations

import re

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00d7": "\\times ", "\u22c5": "\\cdot ", "\u00b7": "\\cdot ", "\u00f7": "/",
    "\u03c0": "\\pi ", "\u221e": "\\infty ", "\u221a": "\\sqrt", "\u00b0": "^\\circ",
    "\u2264": "\\leq ", "\u2265": "\\geq ", "\u2260": "\\neq ", "\u222a": "\\cup ",
    "\u2229": "\\cap ", "\u2205": "\\emptyset ", "\u00b2": "^2", "\u00b3": "^3",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
    "\uff0c": ",", "\u3002": ".", "\uff08": "(", "\uff09": ")", "\u2032": "'",
}
_UNICODE_RE = re.compile("|".join(re.escape(k) for k in _UNICODE))
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LEFT_RIGHT_RE = re.compile(r"\\(?:left|right)\s*\.|\\(?:left|right|[bB]igg?[lr]?|middle)(?![A-Za-z])")
# ``\\`` (matrix row break) is kept; ``\,`` ``\;`` ``\:`` ``\!`` ``\ `` are dropped.
_SPACING_RE = re.compile(
    r"(\\\\)|(\\!)|\\[,;: ]|\\(?:q?quad|enspace|thinspace|medspace|thickspace|negthinspace)(?![A-Za-z])"
    r"|\\(?:hspace|vspace|phantom|hphantom)\*?\{[^{}]*\}|~"
)
_STYLE_RE = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|bf|it|rm)(?![A-Za-z])")
_FRAC_RE = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_BINOM_RE = re.compile(r"\\[dt]binom(?![A-Za-z])")
_TEXT_CMD = r"\\(?:text|textbf|textit|textrm|texttt|textsf|textnormal|mbox|mathrm|mathbf|mathit|mathsf|mathtt|boldsymbol|bm|emph)"
_TEXT_RE = re.compile(_TEXT_CMD + r"\s*\{([^{}]*)\}")
_TRAILING_TEXT_RE = re.compile(r"^(.*?[\d}).\w])\s*" + _TEXT_CMD + r"\s*\{\s*([^{}]*?)\s*\}$")
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree(?![A-Za-z])|\s*\bdegrees?\b")
_PERCENT_RE = re.compile(r"\\%|\s*\bpercent\b|\s*\bpct\b")
_CURRENCY_RE = re.compile(r"\\\$|\$|€|£|¥|₹")  # after \$ (currency) any $ is a math delimiter
_UNITS = (
    r"(?:sq\.?\s*|square\s+|cubic\s+|cu\.?\s*)?"
    r"(?:cm|mm|km|m|kg|mg|g|lbs?|pounds?|oz|ounces?|in|inch(?:es)?|ft|feet|foot|yards?|yd|"
    r"miles?|mi|mph|km/h|kmh|m/s|s|sec(?:ond)?s?|min(?:ute)?s?|h|hrs?|hours?|days?|weeks?|"
    r"months?|years?|yrs?|dollars?|cents?|units?|liters?|litres?|l|ml|gallons?|gal|"
    r"meters?|metres?|centimeters?|kilometers?|grams?|kilograms?|people|persons?|students?|"
    r"apples?|cookies?|books?|marbles?|points?|coins?|boxes|items?|pieces?|times|ways)"
    r"(?:\s*\^\s*\{?[23]\}?|²|³)?"
)
_UNIT_SUFFIX_RE = re.compile(r"(?<=[\d}.])\s*(?:\\\s*)?" + _UNITS + r"\.?$")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$")
_SPACE_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?%?$")
_PI_RE = re.compile(r"(?<![\\A-Za-z])pi(?![A-Za-z])")
_INF_RE = re.compile(r"(?<![\\A-Za-z])(?:infinity|inf|oo)(?![A-Za-z])|\\inf(?:ty)?(?![A-Za-z])")
_SQRT_WORD_RE = re.compile(r"(?<![\\A-Za-z])sqrt(?![A-Za-z])")
_SEPARATOR_RE = re.compile(
    r"\s*,?\s+(?:and|or)\s+|\s*,?\s*\\(?:text|mbox)\{\s*,?\s*(?:and|or)\s*\}\s*|(?<=[)\]}])\s*(?:and|or)\s*(?=[(\[{\\])"
    r"|\s*;\s*"
)
_REALS_RE = re.compile(
    r"^(?:\\mathbb\s*\{?\s*R\s*\}?|\\R|\\Re|all real numbers|\(-\\infty,\+?\\infty\))$"
)
_PLUS_INF_RE = re.compile(r"(?<=[,(\[])\s*\+\s*(?=\\infty)")
_SIMPLE_LHS_RE = re.compile(
    r"^(?:[A-Za-z]|\\[a-zA-Z]+)(?:_\{?[\w]+\}?)?'*(?:\([A-Za-z,\s]*\))?$|^[A-Za-z]{1,3}$"
)
_IN_RE = re.compile(r"^(?:[A-Za-z]|\\[a-zA-Z]+)\s*\\in\s*")
_WS_RE = re.compile(r"\s+")
_BRACKET_SPACE_RE = re.compile(r"(?<=[(\[{])\s+|\s+(?=[)\]}])")
_TRAIL_PUNCT = " .,;:?\t\n"  # not "!": 5! is a factorial


def _match_close(s: str, i: int) -> int:
    """Index of the bracket closing ``s[i]`` (any of ``({[``), counting all kinds; -1 if none."""
    depth = 0
    for j in range(i, len(s)):
        c = s[j]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _sqrt_parens(s: str) -> str:
    """``\\sqrt(2)`` -> ``\\sqrt{2}`` (latex2sympy only reads the braced form).

    Example:
        >>> _sqrt_parens("3\\\\sqrt(2x)")
        '3\\\\sqrt{2x}'
    """
    out = []
    i = 0
    while True:
        j = s.find("\\sqrt(", i)
        if j < 0:
            out.append(s[i:])
            return "".join(out)
        k = _match_close(s, j + 5)
        if k < 0:
            out.append(s[i:])
            return "".join(out)
        out.append(s[i:j] + "\\sqrt{" + s[j + 6 : k] + "}")
        i = k + 1


def _strip_redundant_parens(s: str) -> str:
    """``(5)`` -> ``5``, ``((1, 2))`` -> ``(1, 2)``; a tuple or interval keeps its own brackets.

    Example:
        >>> _strip_redundant_parens("(864 inches^2)"), _strip_redundant_parens("((3,4))"), _strip_redundant_parens("(1,2)")
        ('864 inches^2', '(3,4)', '(1,2)')
    """
    while len(s) >= 2 and s[0] == "(" and s[-1] == ")" and _match_close(s, 0) == len(s) - 1:
        inner = s[1:-1].strip()
        enclosed = len(inner) >= 2 and inner[0] in "([" and inner[-1] in ")]" and _match_close(inner, 0) == len(inner) - 1
        if not inner or (len(split_top(inner, ",")) > 1 and not enclosed):
            break
        s = inner
    return s


def strip_outer(s: str, opener: str = "(", closer: str = ")") -> str:
    """Remove brackets that enclose the whole string: ``((5))`` -> ``5``.

    Example:
        >>> strip_outer("(1)+(2)")
        '(1)+(2)'
    """
    while len(s) >= 2 and s[0] == opener and s[-1] == closer and _match_close(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    return s


def split_top(s: str, sep: str) -> list[str]:
    """Split on ``sep`` outside any brackets/braces.

    Example:
        >>> split_top("(1,2),\\\\{3,4\\\\},5", ",")
        ['(1,2)', '\\\\{3,4\\\\}', '5']
    """
    parts, depth, start, i, n, m = [], 0, 0, 0, len(s), len(sep)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            parts.append(s[start:i])
            i += m
            start = i
            continue
        i += 1
    parts.append(s[start:])
    return parts


_NAME_NOISE_RE = re.compile(r"_\{[^{}]*\}|_\w|\\(?:frac|dfrac|left|right|mathbf|mathrm|overline|vec|angle)(?![A-Za-z])|[{}()|:,' ]")
_GREEK_RE = re.compile(r"\\(?:alpha|beta|gamma|delta|theta|lambda|mu|phi|psi|omega|sigma|tau|rho)(?![A-Za-z])")


def is_name(lhs: str) -> bool:
    """True when ``lhs`` only names something: ``x``, ``f(x)``, ``(p,q)``, ``|AB|``, ``A:B``, ``\\frac{NO}{BO}``.

    A left side with an operator or a digit outside a subscript (``x+y``, ``2x``, ``x^2``) is an
    expression, and its equation is kept.

    Example:
        >>> [is_name(s) for s in ("(p,q)", "S_{MBCN}:S", "|AB|", "a+3z", "x^2", "f(x)")]
        [True, True, True, False, False, True]
    """
    rest = _NAME_NOISE_RE.sub("", _GREEK_RE.sub("a", lhs.strip()))
    return bool(rest) and rest.isalpha() and rest.isascii() and len(rest) <= 12


def strip_assignment(s: str) -> str:
    """``x = 5`` -> ``5``; ``f(x) = 2x`` -> ``2x``; ``(p,q)=(3,2)`` -> ``(3,2)``; ``x \\in [1,2]`` -> ``[1,2]``.

    Only a left side that names something (:func:`is_name`) is dropped; ``x^2 + y^2 = 1``
    stays an equation. A chain ``x = 5+5+1 = 11`` states its last value.

    Example:
        >>> strip_assignment("k = 2"), strip_assignment("x+y=1"), strip_assignment("A:B=1")
        ('2', 'x+y=1', '1')
    """
    s = _IN_RE.sub("", s, count=1)
    if "=" not in s:
        return s
    parts = split_top(s, "=")
    if len(parts) < 2 or any(p.endswith(("<", ">", "!", "\\")) for p in parts[:-1]):
        return s
    if len(split_top(s, ",")) > 1 and not parts[0].strip().startswith(("(", "[", "\\left")):
        if not (len(parts) == 2 and _THOUSANDS_RE.match(parts[1].strip())):
            return s
    if is_name(parts[0]) and parts[-1].strip():  # x = 5+5+1 = 11: the last value is the answer
        return parts[-1].strip()
    return s


_LETTER_OUTSIDE_COMMANDS_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]")


def _strip_unit_suffix(s: str) -> str:
    """``5 cm`` -> ``5``; ``\\pi r^2 h`` stays: a unit ends a value, never a product of variables."""
    s = _strip_redundant_parens(s)
    m = _UNIT_SUFFIX_RE.search(s)
    if m is None or _LETTER_OUTSIDE_COMMANDS_RE.search(s[: m.start()].rsplit("=", 1)[-1]):
        return s
    return s[: m.start()].strip()


def _strip_text_units(s: str) -> str:
    """Drop trailing ``\\text{...}`` words after a value, then unwrap the rest."""
    for _ in range(4):
        m = _TRAILING_TEXT_RE.match(s)
        if not m or not re.fullmatch(r"[A-Za-z .\-/^{}0-9²³]*[A-Za-z][A-Za-z .\-/^{}0-9²³]*", m.group(2)):
            break
        s = m.group(1).strip()
    for _ in range(4):
        new = _TEXT_RE.sub(lambda m: m.group(1), s)
        if new == s:
            break
        s = new
    return s


def normalize_answer(ans: str, keep_assignment: bool = False) -> str:
    """Canonical form of one answer string (see module doc). Never raises.

    Example:
        >>> normalize_answer("\\\\left( 1,\\\\, 2 \\\\right)")
        '(1, 2)'
        >>> normalize_answer("50\\\\%")
        '50%'
    """
    if not isinstance(ans, str):
        return ""
    s = _CONTROL_RE.sub("", ans)
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], s).strip()
    for a, b in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(s) > len(a) + len(b) and s.startswith(a) and s.endswith(b):
            s = s[len(a) : -len(b)].strip()
    if s.startswith(("\\boxed", "\\fbox")):
        from .extract import last_boxed

        inner = last_boxed(s)
        if inner is not None:
            s = inner
    s = _LEFT_RIGHT_RE.sub("", s)
    s = _SPACING_RE.sub(lambda m: m.group(1) or ("" if m.group(2) else " "), s)
    s = _STYLE_RE.sub("", s)
    s = _FRAC_RE.sub(r"\\frac", s)
    s = _BINOM_RE.sub(r"\\binom", s)
    s = _DEGREE_RE.sub("", s)
    s = _PERCENT_RE.sub("%", s)
    s = _CURRENCY_RE.sub("", s).strip()
    s = _strip_text_units(s)
    s = s.strip().rstrip(_TRAIL_PUNCT)
    s = _strip_unit_suffix(s)
    s = _SEPARATOR_RE.sub(",", s)
    s = s.replace("{,}", "").replace("**", "^")
    s = _PI_RE.sub(r"\\pi", s)
    s = _INF_RE.sub(r"\\infty", s)
    s = _PLUS_INF_RE.sub("", s)
    s = _SQRT_WORD_RE.sub(r"\\sqrt", s)
    if "\\sqrt(" in s:
        s = _sqrt_parens(s)
    s = _WS_RE.sub(" ", s).strip().rstrip(_TRAIL_PUNCT)
    s = _BRACKET_SPACE_RE.sub("", s)
    s = _strip_redundant_parens(s)
    if not keep_assignment:
        s = strip_assignment(s)
        s = _strip_redundant_parens(s)
    if _REALS_RE.match(s):
        s = "(-\\infty,\\infty)"
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    elif _SPACE_THOUSANDS_RE.match(s):
        s = s.replace(" ", "")
    if s.startswith("+"):
        s = s[1:].lstrip()
    if s.startswith("{") and _match_close(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    return s


def compact(s: str) -> str:
    """Whitespace-free comparison key of a normalized answer.

    Example:
        >>> compact("\\\\frac{1}{2} x")
        '\\\\frac{1}{2}x'
    """
    return _WS_RE.sub("", s)

"""A small parser for the arithmetic part of LaTeX answers (pure Python, no sympy).

It reads numbers, variables, ``\\pi``, ``i``, ``+ - * / ^``, ``\\cdot``, ``\\times``,
``\\div``, ``\\frac``, ``\\sqrt``, ``\\sqrt[n]``, ``\\binom``, ``!``, brackets and implicit
multiplication (``2x``, ``3\\sqrt{2}``, ``(x+1)(x-1)``). Anything else (functions,
``e``, relations, text) raises :class:`Unsupported`, and the caller leaves the pair to sympy.
Where LaTeX is ambiguous it refuses rather than guesses (``2 3`` is :class:`Unsupported`),
or reads it as sympy's LaTeX parser does (``x^23`` is ``x^{23}``); an integer glued to
``\\frac{a}{b}`` with ``a < b`` is a mixed number.

The result is a tree of tuples:
``("num", Fraction, is_decimal)``, ``("var", name)``, ``("const", "pi" | "i")``,
``("sum", (node, ...))``, ``("neg", node)``, ``("prod", (node, ...))``, ``("div", node, node)``,
``("pow", base, exponent)``, ``("root", node, degree_node)``, ``("fact", node)``,
``("binom", node, node)``. Sums and products are flat, so a long answer makes a shallow tree.

Example:
    >>> parse_expr("2\\\\frac{1}{2}")
    ('num', Fraction(5, 2), False)
    >>> parse_expr("3x^2")
    ('prod', (('num', Fraction(3, 1), False), ('pow', ('var', 'x'), ('num', Fraction(2, 1), False))))
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

MAX_TOKENS = 2_000
MAX_DEPTH = 60

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*|\.\d+|\d+)|(?P<cmd>\\[A-Za-z]+|\\[{}])|(?P<letter>[A-Za-z])|(?P<sym>[-+*/^()\[\]{}!_']))"
)
_GREEK = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta kappa lambda mu nu xi rho sigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma Phi Psi Omega".split()
)
_MUL_CMDS = frozenset({"\\cdot", "\\times", "\\ast"})
_STARTS_PRIMARY = frozenset({"(", "[", "{", "\\{"})
_INTEGER_RE = re.compile(r"\d+")


class Unsupported(ValueError):
    """The text is outside the arithmetic subset this parser reads."""


def tokenize(s: str) -> list[tuple[str, str]]:
    """``(kind, text)`` tokens of ``s``; raises :class:`Unsupported` on anything else.

    Example:
        >>> tokenize("2\\\\pi r")
        [('num', '2'), ('cmd', '\\\\pi'), ('letter', 'r')]
    """
    tokens: list[tuple[str, str]] = []
    pos, n = 0, len(s)
    while pos < n:
        m = _TOKEN_RE.match(s, pos)
        if m is None:
            if s[pos:].strip() == "":
                break
            raise Unsupported(f"character {s[pos]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise Unsupported("too long")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise Unsupported(f"expected {text!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsupported("too deep")

    # expr := term (('+' | '-') term)*
    def expr(self) -> tuple:
        self.enter()
        terms = [self.term()]
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            terms.append(right if op == "+" else ("neg", right))
        self.depth -= 1
        return terms[0] if len(terms) == 1 else ("sum", tuple(terms))

    # term := unary ((* | / | \cdot | implicit) unary)*
    def term(self) -> tuple:
        factors = [self.unary()]
        while True:
            kind, text = self.peek()
            if text == "*" or text in _MUL_CMDS:
                self.take()
                factors.append(self.unary())
            elif text == "/" or text == "\\div":
                self.take()
                left = factors.pop() if len(factors) == 1 else ("prod", tuple(factors))
                factors = [("div", left, self.unary())]
            elif self._starts_primary(kind, text):
                if kind == "num":
                    raise Unsupported("a number after a factor")
                factors.append(self.power())
            else:
                return factors[0] if len(factors) == 1 else ("prod", tuple(factors))

    def unary(self) -> tuple:
        text = self.peek()[1]
        if text in ("-", "+"):
            self.take()
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return ("neg", inner) if text == "-" else inner
        return self.power()

    def power(self) -> tuple:
        base = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            return ("pow", base, self.exponent())
        return base

    def exponent(self) -> tuple:
        kind, text = self.peek()
        if text == "{":
            return self.group()
        if kind == "num":
            self.take()
            if not text.isdigit():
                raise Unsupported("a decimal exponent")
            return ("num", Fraction(text), False)
        if kind == "letter" or (kind == "cmd" and (text == "\\pi" or text[1:] in _GREEK)):
            return self.primary()
        raise Unsupported("exponent")

    def postfix(self) -> tuple:
        node = self.primary()
        while self.peek()[1] == "!":
            self.take()
            node = ("fact", node)
        return node

    def group(self) -> tuple:
        self.expect("{")
        node = self.expr()
        self.expect("}")
        return node

    def arg(self) -> tuple:
        """A ``\\frac``/``\\sqrt`` argument: a braced group or a single digit or letter."""
        kind, text = self.peek()
        if text == "{":
            return self.group()
        if kind == "num" and len(text) >= 1 and text.isdigit():
            self.take()
            if len(text) > 1:  # \frac12 is 1/2: split the digits
                self.toks.insert(self.i, ("num", text[1:]))
            return ("num", Fraction(text[0]), False)
        if kind == "letter":
            return self.primary()
        raise Unsupported("argument")

    def _starts_primary(self, kind: str, text: str) -> bool:
        if kind in ("num", "letter") or text in _STARTS_PRIMARY:
            return True
        return kind == "cmd" and (text in ("\\frac", "\\sqrt", "\\pi", "\\binom") or text[1:] in _GREEK)

    def primary(self) -> tuple:
        kind, text = self.take()
        if kind == "num":
            return self._number(text)
        if kind == "letter":
            return self._variable(text)
        if text in ("(", "[", "{", "\\{"):
            closer = {"(": ")", "[": "]", "{": "}", "\\{": "\\}"}[text]
            node = self.expr()
            self.expect(closer)
            return node
        if text == "\\frac":
            num = self.arg()
            den = self.arg()
            return ("div", num, den)
        if text == "\\binom":
            return ("binom", self.arg(), self.arg())
        if text == "\\sqrt":
            degree = None
            if self.peek()[1] == "[":
                self.take()
                degree = self.expr()
                self.expect("]")
            return ("root", self.arg(), degree or ("num", Fraction(2), False))
        if text == "\\pi":
            return ("const", "pi")
        if kind == "cmd" and text[1:] in _GREEK:
            return self._variable(text)
        raise Unsupported(f"token {text!r}")

    def _number(self, text: str) -> tuple:
        value = ("num", Fraction(text), "." in text)
        kind, nxt = self.peek()
        if _INTEGER_RE.fullmatch(text) and nxt == "\\frac":
            save = self.i
            self.take()
            try:
                num, den = self.arg(), self.arg()
            except Unsupported:
                num = den = None
            if (num and den and num[0] == "num" and den[0] == "num" and not num[2] and not den[2]
                    and 0 < num[1] < den[1]):
                return ("num", Fraction(text) + num[1] / den[1], False)
            self.i = save
        return value

    def _variable(self, name: str) -> tuple:
        if name == "i":
            return ("const", "i")
        if name == "e":
            raise Unsupported("e is ambiguous (a constant or a variable)")
        while self.peek()[1] == "'":
            self.take()
            name += "'"
        if self.peek()[1] == "_":
            self.take()
            kind, text = self.peek()
            if text == "{":
                start = self.i
                depth = 0
                while True:
                    k, t = self.take()
                    if k == "end":
                        raise Unsupported("subscript")
                    depth += t == "{"
                    depth -= t == "}"
                    if depth == 0:
                        break
                name += "_" + "".join(t for _, t in self.toks[start + 1 : self.i - 1])
            elif kind in ("num", "letter"):
                self.take()
                name += "_" + text
            else:
                raise Unsupported("subscript")
        return ("var", name)


def parse_expr(s: str) -> tuple:
    """The expression tree of a normalized answer; raises :class:`Unsupported`.

    Example:
        >>> parse_expr("\\\\sqrt{8}")
        ('root', ('num', Fraction(8, 1), False), ('num', Fraction(2, 1), False))
        >>> parse_expr("\\\\sin x")
        Traceback (most recent call last):
        ...
        verifiers.latex_expr.Unsupported: token '\\\\sin'
    """
    parser = _Parser(tokenize(s))
    if not parser.toks:
        raise Unsupported("empty")
    node = parser.expr()
    if parser.i != len(parser.toks):
        raise Unsupported(f"trailing {parser.peek()[1]!r}")
    return node


def variables(node: Any) -> set[str]:
    """Names of the variables of a tree.

    Example:
        >>> sorted(variables(parse_expr("x_1 y + \\\\pi")))
        ['x_1', 'y']
    """
    if not isinstance(node, tuple):
        return set()
    if node[0] == "var":
        return {node[1]}
    out: set[str] = set()
    for child in children(node):
        out |= variables(child)
    return out


def children(node: tuple) -> tuple:
    """The sub-trees of a node.

    Example:
        >>> len(children(parse_expr("1+2+x")))
        3
    """
    if node[0] in ("sum", "prod"):
        return node[1]
    return tuple(c for c in node[1:] if isinstance(c, tuple))

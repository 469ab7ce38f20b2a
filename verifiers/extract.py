"""Find the final answer in a model response (pure string work, no sympy).

Only the final part is read: the text after the last ``</think>`` when there is one. A
response that opens ``<think>`` and never closes it has no final part, hence no answer.
Priority, and the last occurrence wins within each kind:

1. ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces matched; ``\\boxed 5`` too);
2. GSM8K ``#### N``;
3. an answer phrase: ``The answer is ...``, ``The final answer is: ...``,
   ``Answer: ...`` (our synthetic task ends with ``The answer is N``);
4. a response that is nothing but a short math answer (``$\\frac{1}{2}$``, ``76``).

The answer is then cleaned: math delimiters (``$...$``, ``\\(...\\)``), markdown bold,
trailing punctuation, currency symbols and plain-word units after a number are removed.
Only the last :data:`MAX_SCAN_CHARS` characters are scanned, so a 100k-character
response costs the same as a short one. Every regex here is linear-time.

Example:
    >>> extract_answer("23 + 15 = 38\\n38 * 2 = 76. The answer is 76")
    '76'
    >>> extract_answer("so $x = \\\\boxed{\\\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    >>> extract_answer("I am not sure.") is None
    True
"""

from __future__ import annotations

import re

MAX_SCAN_CHARS = 32_000  # only the tail of a response is searched
MAX_ANSWER_CHARS = 2_000  # a longer "answer" is not an answer

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOXED_SPACE_RE = re.compile(r"\\boxed[ \t]+([^\s$\\{}]+)")
_GSM8K_RE = re.compile(r"####[ \t]*([^\n]*)")
_PHRASE_RE = re.compile(
    r"(?i)\banswer\s{0,3}(?:\*\*)?\s{0,3}(?:(?:is\b\s{0,3}:?|:|=)(?:\*\*)?[ \t]*|(?=\$|\\\(|\\\[))"
)
_WORDY_IS_RE = re.compile(r"[A-Za-z]{2,}\s[^\n]*\s(?:is|are|equals)\s+(?=\S)")  # greedy: the last "is"
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)|(?i:\bI\s+hope\b)")
_TRAILING_PUNCT = ".,;:!?。 \t\r\n"
_CURRENCY_RE = re.compile(r"^(?:\\\$|\$|€|£|¥|₹|US\$|USD\s*|Rs\.?\s*)\s*")
_NUMBER_THEN_WORDS_RE = re.compile(
    r"^(-?\s*(?:\d[\d,]*)?\.?\d+(?:\s*(?:%|\\%))?)\s+([A-Za-z][A-Za-z .\-/²³]*?)\.?$"
)
_KEEP_WORDS = frozenset({"and", "or", "to", "and/or", "i", "pi", "e", "x", "y", "n", "k", "times"})
_WORD_RE = re.compile(r"(?<!\\)\b[A-Za-z]{3,}\b")
_MATH_WORDS = frozenset({"sqrt", "inf", "infty", "infinity", "frac", "dfrac", "pi", "cdot", "times"})
_TRAILING_SPACE_CMD_RE = re.compile(r"(?:\\[,;:! ]|\\q?quad|\s)+$")  # "12\\," ends in a thin space
_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def _match_brace(s: str, open_idx: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``open_idx``, or -1 (escaped braces skipped).

    Example:
        >>> _match_brace("{a{b}c}d", 0)
        6
    """
    depth = 0
    i = open_idx
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` or ``\\fbox{...}`` in ``text``.

    Example:
        >>> last_boxed("\\\\boxed{1} then \\\\boxed{\\\\frac{a}{b}}")
        '\\\\frac{a}{b}'
    """
    best: tuple[int, str] | None = None
    starts = [m for m in _BOXED_RE.finditer(text)]
    for m in reversed(starts):
        end = _match_brace(text, m.end() - 1)
        if end != -1:
            best = (m.start(), text[m.end() : end])
            break
    for m in _BOXED_SPACE_RE.finditer(text):
        if best is None or m.start() > best[0]:
            best = (m.start(), m.group(1))
    return None if best is None else best[1]


def _strip_delims(s: str) -> str:
    """Remove one layer of enclosing math delimiters and markdown bold."""
    changed = True
    while changed:
        changed = False
        s = s.strip()
        for lead in ("**", "__"):
            if len(s) > 4 and s.startswith(lead) and s.endswith(lead):
                s, changed = s[2:-2], True
        for a, b in _DELIMS:
            if len(s) >= len(a) + len(b) + 1 and s.startswith(a) and s.endswith(b):
                inner = s[len(a) : -len(b)]
                if a == "$" and re.search(r"(?<!\\)\$", inner):
                    continue
                s, changed = inner, True
                break
    return s


def _first_math_span(s: str) -> str | None:
    """The first ``$...$`` / ``\\(...\\)`` span at the start of ``s`` (after spaces)."""
    s = s.lstrip()
    for a, b in _DELIMS:
        if s.startswith(a):
            end = s.find(b, len(a))
            while b.startswith("$") and end > 0 and s[end - 1] == "\\":  # \$ is a dollar sign
                end = s.find(b, end + 1)
            if end > len(a):
                return s[len(a) : end]
    return None


def clean_answer(ans: str, boxed: bool = False) -> str | None:
    """Tidy an extracted answer: delimiters, bold, trailing punctuation, currency, units.

    Example:
        >>> clean_answer(" **$\\\\$1,250.$** ")
        '1,250'
        >>> clean_answer("12 apples.")
        '12'
    """
    s = _strip_delims(ans)
    if s.startswith("\\boxed") or s.startswith("\\fbox"):
        inner = last_boxed(s)
        if inner is not None:
            s = inner
    punct = _TRAILING_PUNCT.replace("!", "") if boxed else _TRAILING_PUNCT  # \\boxed{5!} is a factorial
    s = _TRAILING_SPACE_CMD_RE.sub("", s.strip())
    s = s.strip().rstrip(punct).strip("*")
    s = _strip_delims(s).rstrip(punct).strip("*")
    s = _CURRENCY_RE.sub("", s, count=1)
    m = _NUMBER_THEN_WORDS_RE.match(s) if len(s) <= 100 else None
    if m and not any(w.lower() in _KEEP_WORDS for w in m.group(2).split()):
        s = m.group(1)
    s = s.strip()
    if not s or len(s) > MAX_ANSWER_CHARS:
        return None
    return s


def _after_phrase(rest: str) -> str:
    """Answer text that follows an answer phrase, up to the end of its sentence."""
    line = rest.split("\n", 1)[0].lstrip(" *\t")
    if not line.strip() and "\n" in rest:  # "The answer is:\n76"
        line = rest.split("\n", 2)[1]
    span = _first_math_span(line)
    if span is not None:
        return span
    m = _SENTENCE_END_RE.search(line)
    ans = line[: m.start()] if m else line
    # "Answer: The volume of $ABCD$ is 120" -> "120"
    w = _WORDY_IS_RE.match(ans) if len(ans) <= 500 else None
    if w is not None:
        rest = ans[w.end() :]
        span = _first_math_span(rest)
        return span if span is not None else rest
    return ans


def _bare_answer(text: str) -> str | None:
    """The whole response, when it is nothing but a short math answer."""
    s = text.strip()
    if not s or "\n" in s or len(s) > 80 or "\\boxed" in s or "\\fbox" in s:
        return None
    inner = _strip_delims(s)
    wrapped = inner != s
    if not wrapped:
        for w in _WORD_RE.findall(inner):
            if w.lower() not in _MATH_WORDS:
                return None
        if "=" in inner:
            lhs = inner.split("=", 1)[0].strip()
            if not re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?", lhs):
                return None
    if not re.search(r"[\dA-Za-z\\]", inner):
        return None
    return inner


def final_part(text: str) -> str | None:
    """The text after the last ``</think>``; ``None`` when thinking was opened and never closed.

    Example:
        >>> final_part("<think>maybe 5</think>It is 6."), final_part("<think>maybe 5") is None
        ('It is 6.', True)
    """
    end = text.rfind("</think>")
    if end >= 0:
        return text[end + len("</think>") :]
    if "<think>" in text:
        return None
    return text


def extract_answer(text: object) -> str | None:
    """The final answer of a response, or ``None`` when it states none.

    Example:
        >>> extract_answer("Natalia sold 48+24 = 72 clips.\\n#### 72")
        '72'
        >>> extract_answer("The final answer is: $\\\\dfrac{3}{4}$. I hope it is correct.")
        '\\\\dfrac{3}{4}'
    """
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return str(text)
    if not isinstance(text, str):
        return None
    try:
        text = final_part(text)
        if text is None:
            return None
        tail = text.rstrip()[-MAX_SCAN_CHARS:].replace("\x00", "")
        boxed = last_boxed(tail)
        if boxed is not None:
            return clean_answer(boxed, boxed=True)
        gsm = None
        for m in _GSM8K_RE.finditer(tail):
            gsm = m
        if gsm is not None:
            return clean_answer(gsm.group(1))
        phrase = None
        for m in _PHRASE_RE.finditer(tail):
            phrase = m
        if phrase is not None:
            ans = clean_answer(_after_phrase(tail[phrase.end() :]))
            if ans is not None:
                return ans
        bare = _bare_answer(tail) if len(text) <= 200 else None
        return clean_answer(bare) if bare is not None else None
    except Exception:  # pragma: no cover - defensive: extraction must never raise
        return None

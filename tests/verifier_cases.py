"""The verifier's tuned case table: the code is written against these rows, and the tests
assert every one of them. (The held-out rows, never tuned against, are in
``tests/verifier_heldout.py``.)

Each row names its ``source`` (a key of :data:`SOURCES`) and, when the graders disagree on
it, why (``contested``); ``expected`` then follows the convention chosen in
docs/verifiers.md. Where the conventions disagree we follow the conservative choice (exact
values; a float tolerance only at the written precision of a decimal gold).

* :data:`EXTRACT_CASES`: ``(response, expected extract_answer(response))``
* :data:`EQUIV_CASES`: ``Case(pred, gold, expected bool)`` for ``is_equivalent``
* :data:`GRADE_CASES`: ``Case(response, gold, expected status)`` for ``grade``
* :data:`MV_TESTS`: rows of math-verify's tests/test_all.py, as ``grade`` rows
* :data:`ADVERSARIAL`: inputs that must come back fast and never raise
"""

from __future__ import annotations

from typing import Any, NamedTuple

SOURCES = {
    "mv": "huggingface/Math-Verify tests/test_all.py (its conventions, its labels)",
    "prm": "openai/prm800k prm800k/grading/grader.py (its normalization and comparison rules)",
    "qwen": "QwenLM/Qwen2.5-Math evaluation/grader.py (its rules and unit tests)",
    "ours": "written by us: the synthetic task, the factory's needs, the conventions in docs/verifiers.md",
    "issue": "written by us for the failure classes found on tables the verifier was not written against "
             "(values a float tolerance merges, colon notations, sets with \\pm or unions, named left sides, "
             "\\mathbb{R})",
    "adv": "adversarial inputs written by us",
}

# Why graders disagree (the ``contested`` field of a row).
C_NO_MARKER = "no answer marker: math-verify falls back to the last number or LaTeX span; we need \\boxed, #### or an answer phrase"
C_DECIMAL = "decimal against exact value: math-verify rounds to 6 places, Qwen uses rel. 1e-4, PRM800K is exact; we allow only the written precision of a decimal gold"
C_FORM = "PRM800K requires reduced fractions; math-verify and Qwen compare values"
C_PERCENT = "Qwen also matches the gold times or divided by 100; math-verify and we need a percent sign"
C_MULTISET = "a repeated element: math-verify compares sets, we compare multisets"
C_BRACKETS = "bare list against a tuple: PRM800K requires the same brackets, math-verify accepts"
C_EQUATION = "an equation against a value: math-verify takes the right-hand side; we keep the equation"
C_INTERVAL = "an inequality against an interval: math-verify converts, PRM800K and Qwen do not"
C_RATIO = "a ratio or clock time: read as a division by latex2sympy; we compare the parts"
C_THINK = "text after </think> is the final part: math-verify reads the whole response"


class Case(NamedTuple):
    pred: Any
    gold: Any
    expected: Any  # bool for EQUIV_CASES, a status string for GRADE_CASES and MV_TESTS
    source: str = "ours"
    note: str = ""
    contested: str = ""


def eq(pred: str, gold: str, expected: bool, source: str = "ours", note: str = "", contested: str = "") -> Case:
    return Case(pred, gold, expected, source, note, contested)


def gr(response: Any, gold: Any, expected: str, source: str = "ours", note: str = "", contested: str = "") -> Case:
    return Case(response, gold, expected, source, note, contested)


# ---------------------------------------------------------------------------------------
# extract_answer(text) -> expected
EXTRACT_CASES: list[tuple[Any, str | None]] = [
    # our synthetic task
    ("23 + 15 = 38\n38 * 2 = 76. The answer is 76", "76"),
    ("12 - 4 = 8\nThe answer is 8", "8"),
    ("The answer is 76.", "76"),
    ("The answer is -3", "-3"),
    ("The answer is 3.5.", "3.5"),
    ("the answer is 1,250", "1,250"),
    ("The answer is 76\n", "76"),
    ("23 + 15 = 38", None),  # truncated rollout: no answer statement
    ("23 + 15 = 38\n38 * 2 =", None),
    # GSM8K
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72"),
    ("#### 1,000", "1,000"),
    ("So she has $18 left.\n#### $18", "18"),
    ("first #### 3\nthen #### 4", "4"),
    # boxed / fbox
    ("so $x = \\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("\\boxed{1} and later \\boxed{2}", "2"),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
    ("answer: \\fbox{42}", "42"),
    ("\\boxed 5", "5"),
    ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("The answer is 7, so \\boxed{8}", "8"),  # boxed beats the phrase
    ("\\boxed{12\\text{ cm}}", "12\\text{ cm}"),
    ("\\boxed{3} then unfinished \\boxed{4", "3"),  # last *complete* box
    ("\\boxed{\\boxed{9}}", "9"),
    ("Thus the area is \\(\\boxed{189}\\) square centimeters.", "189"),
    # answer phrases
    ("The final answer is $\\dfrac{3}{4}$. I hope it is correct.", "\\dfrac{3}{4}"),
    ("Final Answer: The final answer is $28 \\%$. I hope it is correct.", "28 \\%"),
    ("The final answer is: 12", "12"),
    ("**Answer:** 12 apples.", "12"),
    ("Answer: $x = 5$", "x = 5"),
    ("The answer is: \n 9", "9"),
    ("The answer is (B).", "(B)"),
    ("The answer is \\$5.", "5"),
    ("The answer is $5.00.", "5.00"),
    ("The answer is 45 dollars.", "45"),
    ("The answer is 15 cm.", "15"),
    ("the answer is \\( \\sqrt{2} \\)", "\\sqrt{2}"),
    ("So the answer is $\\frac{\\pi}{4}$!", "\\frac{\\pi}{4}"),
    ("The answer is **17**.", "17"),
    ("Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120"),
    ("Answer $ 9 $", "9"),
    ("Answer \\( (9+1) \\)", "(9+1)"),
    ("**Answer:** Evelyn is the fastest", "Evelyn is the fastest"),
    ("The answer is 3 and 4.", "3 and 4"),
    ("I think the answer is 4. Wait, the answer is 5.", "5"),  # last statement wins
    # bare answers
    ("76", "76"),
    ("$\\frac12$", "\\frac12"),
    ("  -0.5 ", "-0.5"),
    ("x = 5", "x = 5"),
    # no answer
    ("I am not sure.", None),
    ("", None),
    ("   \n  ", None),
    ("Let me answer this question step by step", None),
    (None, None),
    (12, "12"),
    (["The answer is 5"], None),
    # long chain of thought: only the final part counts
    ("<think>The answer is 5</think>The answer is 6", "6"),
    ("<think>maybe \\boxed{5}</think>\\boxed{6} is it", "6"),
    ("<think>\\boxed{5} unfinished", None),
    ("</think>The answer is 6", "6"),
    # adversarial
    ("\x00\x00The answer is 5\x00", "5"),
    ("x" * 100_000, None),
    ("(" * 2000, None),
    ("\\boxed{" * 500, None),
    ("The answer is " + "9" * 5000, None),  # a 5,000-digit "answer" is not an answer
    ("}" * 1000 + "The answer is 3", "3"),
    ("The answer is 3" + " " * 50_000, "3"),
]


# ---------------------------------------------------------------------------------------
# is_equivalent(pred, gold) -> expected
EQUIV_CASES: list[Case] = [
    # integers, thousands separators, signs
    eq("76", "76", True),
    eq("76", "77", False),
    eq("-5", "-5", True, "mv"),
    eq("7,425,000", "7425000", True, "mv"),
    eq("1 000", "1000", True, "mv"),
    eq("1{,}000", "1000", True, "prm"),
    eq("1,\\!000", "1000", True, "prm"),
    eq("14{,}916", "14916", True, "mv"),
    eq("+5", "5", True),
    eq("0005", "5", True),
    eq("−5", "-5", True, "ours", "unicode minus"),
    eq("–5", "-5", True, "ours", "en dash"),
    eq("1000.0", "1000", True, "mv"),
    eq("1,000.99", "1000.99", True, "mv"),
    eq("5.0", "5", True, "qwen", "values, not forms"),
    eq("5", "-5", False),
    eq("1,2", "12", False, "ours", "not a thousands group: a list"),
    # decimals vs fractions
    eq("0.5", "\\frac{1}{2}", True, "mv"),
    eq("\\frac12", "0.5", True, "mv"),
    eq("\\dfrac{1}{2}", "1/2", True, "mv"),
    eq("\\tfrac{1}{3}", "1/3", True, "mv"),
    eq("\\cfrac{1}{3}", "\\frac{1}{3}", True, "mv"),
    eq(".4", "0.4", True, "mv"),
    eq("-\\frac{10}{9}", "-10/9", True, "mv"),
    eq("\\frac{-10}{9}", "-\\frac{10}{9}", True),
    eq("\\frac{2}{4}", "\\frac{1}{2}", True, "qwen", "values, not forms", C_FORM),
    eq("\\frac{3}{3}", "1", True, "mv"),
    eq("0.333", "\\frac{1}{3}", False, "prm", "no float tolerance vs exact"),
    eq("0.3333333", "\\frac{1}{3}", False, "prm", "math-verify rounds to 6 places and says yes", C_DECIMAL),
    eq("0.0833333333333333", "\\frac{1}{12}", False, "prm", "qwen/math-verify say yes", C_DECIMAL),
    eq("1.25", "\\frac{5}{4}", True),
    eq("2.50", "2.5", True),
    eq("3.1400000001", "3.14", False, "ours", "two decimals compare exactly", C_DECIMAL),
    eq("3.141", "3.14", False),
    eq("1 2/3", "5/3", True, "prm", "mixed number"),
    eq("2\\frac{1}{2}", "\\frac{5}{2}", True, "prm", "mixed number in LaTeX"),
    eq("1.5e3", "1500", True),
    eq("1.5 \\times 10^{3}", "1500", True),
    eq("2/0", "2", False),
    # percentages
    eq("50\\%", "0.5", True, "qwen"),
    eq("50", "50\\%", True, "mv"),
    eq("28 percent", "28\\%", True, "mv"),
    eq("28 pct", "28\\%", True, "mv"),
    eq("28 %", "28\\%", True, "mv"),
    eq("28", "0.28", False, "mv", "", C_PERCENT),
    eq("28", "28/100", False, "mv"),
    eq("12.5\\%", "\\frac{1}{8}", True, "qwen"),
    eq("50\\%", "0.05", False),
    # units, text, currency
    eq("5\\text{ cm}", "5", True, "mv"),
    eq("\\frac{1}{3} \\text{meters}", "1/3", True, "mv"),
    eq("\\frac{1}{3} \\textbf{meters}", "1/3", True, "mv"),
    eq("15\\mbox{ cm}^2", "15", True, "mv"),
    eq("125\\textnormal{ miles}", "125", True, "mv"),
    eq("12 apples", "12", True, "prm"),
    eq("5 cm", "5", True, "prm"),
    eq("\\$1,000.99", "1000.99", True, "mv"),
    eq("1,000.99€", "1000.99", True, "mv"),
    eq("\\$5.00", "5", True),
    eq("45 dollars", "45", True),
    eq("\\text{Evelyn}", "Evelyn", True, "mv"),
    eq("\\text{Monday}", "monday", True, "ours", "word answers ignore case"),
    eq("\\text{Tuesday}", "Monday", False),
    eq("\\text{even}", "\\text{odd}", False),
    # degrees
    eq("30^\\circ", "30", True, "prm"),
    eq("90^{\\circ}", "90", True, "mv"),
    eq("45°", "45", True),
    eq("45 degrees", "45", True),
    eq("30^\\circ", "\\frac{\\pi}{6}", False, "prm", "degrees are not converted to radians"),
    # radicals and pi
    eq("2\\sqrt{2}", "\\sqrt{8}", True, "prm"),
    eq("3\\sqrt{13}", "\\sqrt{117}", True, "mv"),
    eq("\\sqrt3", "\\sqrt{3}", True, "mv"),
    eq("\\sqrt 2+\\sqrt 5", "\\sqrt{2}+\\sqrt{5}", True, "mv"),
    eq("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True, "prm"),
    eq("sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", True, "qwen"),
    eq("\\frac{\\pi}{2}", "\\pi/2", True),
    eq("\\frac94\\pi", "\\frac{9}{4}\\pi", True, "mv"),
    eq("2pi", "2\\pi", True, "qwen"),
    eq("π/4", "\\frac{\\pi}{4}", True, "ours", "unicode pi"),
    eq("√2", "\\sqrt{2}", True, "ours", "unicode root"),
    eq("3.14", "\\pi", False, "prm", "no loose tolerance"),
    eq("3.1416", "\\pi", False, "prm", "qwen says yes (rel 1e-4)", C_DECIMAL),
    eq("1.414", "\\sqrt{2}", False, "prm"),
    eq("\\sqrt{2}", "2", False),
    eq("4\\pi", "12.566", True, "ours", "a decimal gold is an approximation at its written precision", C_DECIMAL),
    eq("4\\pi", "12.57", True, "ours", "4 pi rounds to 12.57", C_DECIMAL),
    eq("4\\pi", "12.6", True, "ours", "", C_DECIMAL),
    eq("4\\pi", "12.56", False, "ours", "4 pi = 12.566... rounds to 12.57"),
    eq("12.566", "4\\pi", False, "ours", "an approximation of an exact gold", C_DECIMAL),
    eq("\\sqrt[3]{8}", "2", True),
    eq("2^{1/2}", "\\sqrt{2}", True),
    eq("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", True, "prm"),
    eq("\\sqrt{12}", "2\\sqrt{3}", True),
    eq("\\sqrt{12}", "3\\sqrt{2}", False),
    eq("10\\pi", "\\pi \\cdot 10", True),
    # algebraic expressions
    eq("x^2+2x+1", "(x+1)^2", True, "prm"),
    eq("\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}", True, "qwen"),
    eq("\\sec^2(y)", "\\tan^2(y)+1", True, "qwen"),
    eq("2 \\sin b \\cos a", "2 \\sin b \\cos a", True, "mv"),
    eq("2-2p", "-2p+2", True, "mv"),
    eq("a^2 - b^2", "(a-b)(a+b)", True),
    eq("x^2+1", "x^2-1", False),
    eq("2x", "x+x", True),
    eq("0.5x", "\\frac{x}{2}", True, "ours", "decimals become exact fractions"),
    eq("\\frac{\\pi r}{h+r}", "\\frac{\\pi r}{r+h}", True, "mv"),
    eq("e^{i\\pi}", "-1", True),
    eq("1+2i", "2i+1", True),
    eq("\\ln 8", "3\\ln 2", True),
    eq("\\log_2 8", "3", True),
    eq("5!", "120", True),
    eq("\\binom{5}{2}", "10", True),
    eq("x", "y", False),
    # equations and assignments
    eq("x = 5", "5", True, "mv"),
    eq("5", "x = 5", True, "mv"),
    eq("k=1", "1", True, "mv"),
    eq("y = 2x+3", "2x+3", True),
    eq("y=3+2x", "y = 2x+3", True),
    eq("f(x) = x^2", "x^2", True),
    eq("x = \\frac{1}{2}", "0.5", True),
    eq("0", "a+3z = 0", False, "mv"),
    eq("a+3z = 0", "0", False, "ours", "math-verify takes the right-hand side here", C_EQUATION),
    eq("x^2+y^2=1", "y^2+x^2=1", True),
    eq("y=-\\frac{1}{2}x+\\frac{3}{4}", "2x+4y-3=0", True, "mv", "an assignment against an equation"),
    eq("y=2x", "2x+4y-3=0", False),
    eq("x \\in [1,2]", "[1,2]", True, "mv"),
    eq("x \\geq 5", "x >= 5", True, "mv"),
    eq("x \\leq 5", "5 \\geq x", True, "mv"),
    eq("x < 5", "x > 5", False, "mv"),
    eq("x \\neq 3", "x != 3", True, "mv"),
    # tuples (ordered)
    eq("(1,2)", "(1,2)", True),
    eq("(2,1)", "(1,2)", False, "prm"),
    eq("\\left(1,2\\right)", "(1,2)", True, "mv"),
    eq("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\frac{\\pi}{2})", True, "mv"),
    eq("(1,4.5)", "(1,\\frac{9}{2})", True, "qwen"),
    eq("(6,31,-1)", "(6, 31, -1)", True, "mv"),
    eq("(1,2,3)", "(1,2)", False),
    eq("1,2", "(1,2)", False, "prm", "brackets must match", C_BRACKETS),
    eq("(\\sqrt{8}, 1)", "(2\\sqrt{2}, 1)", True),
    eq("\\langle 1, 2 \\rangle", "(1, 2)", True),
    # sets (unordered)
    eq("\\{1,2\\}", "\\{2,1\\}", True, "mv"),
    eq("\\{1,2\\}", "\\{1,3\\}", False),
    eq("\\{1,2,2\\}", "\\{1,2\\}", False, "ours", "multisets: sizes must match", C_MULTISET),
    eq("\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1\\pm\\sqrt{5}\\}", True, "mv"),
    eq("-2,1", "1, -2", True, "mv", "bare lists are unordered (enter all solutions)"),
    eq("x=1, x=2", "2, 1", True),
    eq("1, 2, 3", "3, 2, 1", True),
    eq("1, 2", "1, 2, 3", False),
    eq("1 \\text{ and } 2", "1, 2", True),
    eq("\\emptyset", "\\varnothing", True),
    eq("\\{1,2\\}", "1, 2", True, "ours", "set and bare list are both unordered"),
    # intervals (open/closed matters)
    eq("[0,1)", "[0,1)", True, "mv"),
    eq("[0,9)", "[0,1)", False, "mv"),
    eq("(0,9)", "[0,9)", False, "mv"),
    eq("[1,2]", "[1,2)", False),
    eq("(-\\infty, 3]", "\\left(-\\infty,3\\right]", True),
    eq("(-\\infty, 1) \\cup (2, \\infty)", "(2,\\infty)\\cup(-\\infty,1)", True),
    eq("[-1, -\\tfrac12) \\cup (-\\tfrac12, 0)", "[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0)", True, "mv"),
    eq("(-\\infty, 1) \\cup (2, \\infty)", "(-\\infty, 1] \\cup (2, \\infty)", False),
    eq("(0, \\infty)", "(0, inf)", True),
    eq("\\{-1\\} \\cup [0,7)", "\\{-1\\} \\cup [0,7)", True, "mv"),
    # matrices
    eq("\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", True, "mv"),
    eq("\\begin{bmatrix}0 & 0 \\\\0 & 0\\end{bmatrix}", "\\begin{pmatrix}0 & 0 \\\\0 & 0\\end{pmatrix}", True, "mv"),
    eq("\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]", "\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}", True, "mv"),
    eq("\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", False, "mv"),
    eq("\\begin{pmatrix} \\frac{1}{2} \\\\ 0.75 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ \\frac34 \\end{pmatrix}", True),
    eq("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\end{pmatrix}", False, "ours", "shape matters"),
    eq("\\begin{pmatrix} \\sqrt{8} \\\\ 1 \\end{pmatrix}", "\\begin{pmatrix} 2\\sqrt{2} \\\\ 1 \\end{pmatrix}", True),
    # LaTeX spacing and decoration
    eq("\\frac{1}{2}\\,", "\\frac{1}{2}", True),
    eq("1\\;000", "1000", True),
    eq("\\displaystyle\\frac{1}{2}", "0.5", True),
    eq("$\\frac{1}{2}$", "\\frac{1}{2}", True),
    eq("\\boxed{\\frac{1}{3}}", "1/3", True, "mv"),
    eq("\\left( \\frac{1}{3} \\right)", "1/3", True, "mv"),
    eq("\\!\\!5\\quad", "5", True),
    # multiple choice
    eq("(B)", "B", True, "qwen"),
    eq("B", "(B)", True, "qwen"),
    eq("\\text{(C)}", "C", True, "mv"),
    eq("(C) 12", "C", True, "qwen"),
    eq("D.", "D", True),
    eq("b", "B", True, "mv", "math-verify lowercases choice letters"),
    eq("A", "B", False),
    eq("(A)", "(E)", False),
    # infinity
    eq("\\infty", "inf", True),
    eq("-\\infty", "-inf", True),
    eq("∞", "\\infty", True),
    eq("infinity", "\\infty", True),
    eq("\\infty", "-\\infty", False),
    # not equal / malformed (false, never an error)
    eq("\\frac{1}{", "\\frac{1}{2}", False, "adv"),
    eq("}{", "1", False, "adv"),
    eq("", "1", False, "adv"),
    eq("5", "", False, "adv"),
    eq("\\sqrt{", "\\sqrt{2}", False, "adv"),
    eq("__import__('os').system('echo hi')", "0", False, "adv", "never evaluated"),
    eq("().__class__.__bases__[0].__subclasses__()", "1", False, "adv", "never evaluated"),
    eq("lambda: 1", "1", False, "adv"),
    eq("9^{9^{9^9}}", "1", False, "adv", "screened before sympy"),
    eq("10**10**10", "1", False, "adv", "screened before sympy"),
    eq("(" * 2000 + "1" + ")" * 2000, "1", False, "adv", "too deep"),
    eq("1" + "+1" * 50_000, "50001", False, "adv", "too long"),
    eq("100000!", "1", False, "adv", "huge factorial"),
    eq("2^{2^{2^{2}}}", "65536", True, "adv", "a small tower is fine"),
    # exact values: what a float tolerance merges
    eq("2432902008176640000", "20!", True, "issue"),
    eq("2432902008176640001", "20!", False, "issue", "a float merges these"),
    eq("100!", "100!+1", False, "issue"),
    eq("2^{100}", "1267650600228229401496703205376", True, "issue"),
    eq("2^{100}", "1267650600228229401496703205377", False, "issue"),
    eq("10^{30}", "10^{30}+1", False, "issue"),
    eq("3^{200}", "9^{100}", True, "issue"),
    eq("10^{-20}", "0", False, "issue"),
    eq("1+10^{-20}", "1", False, "issue"),
    eq("\\pi+10^{-30}", "\\pi", False, "issue"),
    eq("e^{\\pi\\sqrt{163}}", "262537412640768744", False, "issue", "7.5e-13 apart"),
    eq("2\\sqrt{3}+\\sqrt{12}", "4\\sqrt{3}", True),
    eq("\\frac{2}{\\sqrt{2}}", "\\sqrt{2}", True),
    eq("\\frac{1}{2-\\sqrt{3}}", "2+\\sqrt{3}", True),
    eq("\\sqrt{\\frac{1}{3}}", "\\frac{\\sqrt{3}}{3}", True),
    eq("\\sqrt{5+2\\sqrt{6}}", "\\sqrt{2}+\\sqrt{3}", True, "ours", "a nested radical: sympy"),
    eq("(1+i)^2", "2i", True),
    eq("\\frac{1}{i}", "-i", True),
    eq("\\frac{1+i}{1-i}", "i", True),
    eq("\\sqrt{-4}", "2i", True),
    eq("3-4i", "3+4i", False),
    eq("\\binom{10}{3}", "120", True),
    eq("\\pi^2/6", "\\frac{\\pi^2}{6}", True),
    eq("\\sqrt{2}", "1.41", True, "ours", "the gold is a decimal approximation", C_DECIMAL),
    eq("\\frac{2}{3}", "0.67", True, "ours", "the gold is a decimal approximation", C_DECIMAL),
    eq("\\frac{2}{3}", "0.66", False, "ours", "2/3 rounds to 0.67"),
    eq("0.6667", "0.67", False, "ours", "two decimals compare exactly"),
    # ratios, clock times and dates are not divisions
    eq("10:30", "10.5", False, "issue", "", C_RATIO),
    eq("3:2", "1.5", False, "issue", "", C_RATIO),
    eq("3:2", "3 : 2", True, "issue"),
    eq("1:2", "2:1", False, "issue"),
    eq("10:4", "5:2", False, "issue", "a ratio is compared as written", C_RATIO),
    eq("7:15", "7.25", False, "issue", "", C_RATIO),
    eq("2:30", "\\frac{2}{30}", False, "issue", "", C_RATIO),
    eq("12/25/2023", "12/25/2023", True, "issue"),
    eq("1/2/3", "\\frac{1}{6}", False, "issue", "a date, never a division", C_RATIO),
    # sets with \pm, unions of literal sets, the reals
    eq("\\pm 5", "5, -5", True, "issue"),
    eq("\\pm 5", "-5", False, "issue"),
    eq("2 \\pm \\sqrt{3}", "\\{2+\\sqrt{3}, 2-\\sqrt{3}\\}", True, "issue"),
    eq("\\frac{1 \\pm \\sqrt{5}}{2}", "\\frac{1+\\sqrt5}{2}, \\frac{1-\\sqrt5}{2}", True, "issue"),
    eq("x = 3 \\pm \\sqrt{2}", "3+\\sqrt2, 3-\\sqrt2", True, "issue"),
    eq("\\pm\\frac{1}{2}", "\\pm 0.5", True, "issue"),
    eq("\\mp 2", "2, -2", True, "issue"),
    eq("1 \\pm 2", "3, -1", True, "issue"),
    eq("1 \\pm 2", "3, 1", False, "issue"),
    eq("\\{1\\} \\cup \\{2\\}", "\\{1, 2\\}", True, "issue"),
    eq("\\{1,2\\} \\cup \\{3,4\\}", "\\{4,3,2,1\\}", True, "issue"),
    eq("\\{1\\} \\cup \\{2\\}", "\\{1, 3\\}", False, "issue"),
    eq("\\{0\\} \\cup [1,2]", "[1,2] \\cup \\{0\\}", True, "issue"),
    eq("\\mathbb{R}", "(-\\infty, \\infty)", True, "issue"),
    eq("(-\\infty,+\\infty)", "\\mathbb{R}", True, "issue"),
    eq("\\mathbb R", "(-\\infty,\\infty)", True, "issue"),
    eq("\\text{all real numbers}", "\\mathbb{R}", True, "issue"),
    eq("\\mathbb{R}", "(0, \\infty)", False, "issue"),
    # tuples and lists with a named left side
    eq("(a,b)=(1,5)", "(1,5)", True, "issue"),
    eq("(a,b)=(5,1)", "(1,5)", False, "issue"),
    eq("(x, y, z) = (1, 2, 3)", "(1,2,3)", True, "issue"),
    eq("m=-2, n=3", "-2, 3", True, "issue", "named values against bare ones: in order"),
    eq("m=3, n=-2", "n=-2, m=3", True, "issue", "names pair up"),
    eq("m=3, n=-2", "m=-2, n=3", False, "issue", "names pair up"),
    eq("|PQ| = 5", "5", True, "issue"),
    eq("AB:BC = 2:3", "2:3", True, "issue"),
    eq("\\frac{AM}{MB}=\\frac{1}{2}", "\\frac12", True, "issue"),
    eq("x = 5+5+1 = 7 = 11", "11", True, "mv", "a chain states its last value"),
    # inequalities and intervals
    eq("x > 2", "(2, \\infty)", True, "issue", "", C_INTERVAL),
    eq("x \\geq -1", "[-1,\\infty)", True, "issue", "", C_INTERVAL),
    eq("-1 < x < 4", "(-1,4)", True, "issue", "", C_INTERVAL),
    eq("-1 \\le x < 4", "[-1,4)", True, "issue", "", C_INTERVAL),
    eq("-1 < x < 4", "[-1,4]", False, "issue"),
    eq("x < -2 \\text{ or } x > 5", "(-\\infty,-2)\\cup(5,\\infty)", True, "issue", "", C_INTERVAL),
    eq("x \\le 1", "x < 1", False, "issue"),
    eq("y > 3", "x > 3", False, "ours", "different variables"),
    eq("x \\in (-\\infty, 2]", "x \\le 2", True, "issue", "", C_INTERVAL),
    # units, text, percentages, mixed numbers, thousands separators
    eq("1\\frac{1}{2}", "\\frac32", True, "prm", "a mixed number"),
    eq("3\\frac{1}{4}", "3.25", True, "prm", "a mixed number"),
    eq("2\\frac{\\sqrt{3}}{2}", "\\sqrt{3}", True, "ours", "a product, not a mixed number"),
    eq("12,345,678", "12345678", True, "mv"),
    eq("12,34", "1234", False, "ours", "not a thousands group"),
    eq("5\\%", "0.05", True, "mv"),
    eq("5\\%", "5", True, "mv"),
    eq("5", "0.05", False, "ours", "", C_PERCENT),
    eq("100 \\text{ cm}^2", "100", True, "mv"),
    eq("7\\text{ hours}", "7", True, "prm"),
    eq("\\$2.50", "2.5", True, "mv"),
    # polynomial identities, decided at random rational points without sympy
    eq("x^2-5x+6", "(x-2)(x-3)", True),
    eq("x^2-5x+6", "(x-2)(x+3)", False),
    eq("\\frac{x^2-1}{x-1}", "x+1", True),
    eq("(a+b)^3", "a^3+3a^2b+3ab^2+b^3", True),
    eq("(a+b)^3", "a^3+b^3", False),
    eq("\\frac{1}{x}+\\frac{1}{y}", "\\frac{x+y}{xy}", True),
    eq("2\\sqrt{2}x", "\\sqrt{8}x", True),
    eq("\\pi r^2 h", "h\\pi r^2", True),
    eq("x^{10}", "x^{11}", False),
    eq("\\sqrt{x^2}", "x", False, "ours", "|x|, not x: roots of variables never go to the point test"),
]


# ---------------------------------------------------------------------------------------
# grade(response, gold).status -> expected
GRADE_CASES: list[Case] = [
    gr("23 + 15 = 38\n38 * 2 = 76. The answer is 76", "76", "correct"),
    gr("23 + 15 = 38\n38 * 2 = 75. The answer is 75", "76", "incorrect"),
    gr("23 + 15 = 38\n38 * 2 = 76.", "76", "no_answer", "ours", "truncated rollout"),
    gr("The answer is 76", 76, "correct", "ours", "int gold"),
    gr("The answer is 0.5", 0.5, "correct", "ours", "float gold"),
    gr("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72", "correct", "ours", "GSM8K"),
    gr("#### 72", "Natalia sold 48/2 = 24 clips.\n#### 72", "correct", "ours", "gold is a GSM8K solution"),
    gr("So the answer is $\\boxed{\\frac{14}{3}}$", "$\\frac{14}{3}$", "correct", "mv"),
    gr("Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.", "$\\text{Evelyn}$", "correct", "mv"),
    gr("Hence, the angle between the lines is $\\boxed{90^\\circ}.$", "$90^\\circ$", "correct", "mv"),
    gr("the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", "$(3, \\frac{\\pi}{2})$", "correct", "mv"),
    gr("the only integer roots are $\\boxed{-2,1}.$", "$-2,1$", "correct", "mv"),
    gr("so the total loss is $\\boxed{28\\%}$.", "$28\\%$", "correct", "mv"),
    gr("Final Answer: The final answer is $28 \\%$. I hope it is correct.", "28", "correct", "mv"),
    gr("The distance is $\\boxed{125\\textnormal{ miles}}.$", "$125$ miles", "correct", "mv"),
    gr("The sum is \\boxed{\\sqrt{8}}", "the solution gives \\boxed{2\\sqrt{2}}", "correct", "prm", "gold as MATH solution"),
    gr("The answer is (B)", "B", "correct", "qwen"),
    gr("The answer is (C)", "B", "incorrect", "qwen"),
    gr("I don't know.", "5", "no_answer"),
    gr("", "5", "no_answer"),
    gr(None, "5", "no_answer"),
    gr(12345, "12345", "correct", "ours", "non-str response"),
    gr(object(), "5", "no_answer", "adv"),
    gr("The answer is 5", None, "invalid_gold"),
    gr("The answer is 5", "", "invalid_gold"),
    gr("The answer is 5", "   ", "invalid_gold"),
    gr("The answer is 5", float("nan"), "invalid_gold"),
    gr("The answer is 5", ["5"], "invalid_gold"),
    gr("The answer is 5", True, "invalid_gold"),
    gr("The answer is $x^2+2x+1$", "(x+1)^2", "correct", "prm"),
    gr("The answer is 3.14", "\\pi", "incorrect", "prm"),
    gr("The answer is \\$1,000.", "1000", "correct"),
    gr("The answer is 9^{9^{9^9}}", "5", "incorrect", "adv"),
    gr("The answer is 10**10**10", "5", "incorrect", "adv"),
    gr("The answer is " + "(" * 2000 + "5" + ")" * 2000, "5", "no_answer", "adv", "too long to be an answer"),
    gr("x" * 100_000, "5", "no_answer", "adv"),
    gr("The answer is 5" + "\x00" * 10, "5", "correct", "adv"),
    gr("The answer is __import__('os').system('x')", "5", "incorrect", "adv"),
    gr("\\boxed{\\frac{1}{", "5", "no_answer", "adv", "unclosed box"),
    gr("The answer is \\frac{1}{", "0.5", "incorrect", "adv"),
    gr("The answer is 5", "\\boxed{5", "invalid_gold", "adv", "unclosed box in the gold"),
    gr("The answer is 5", "x" * 50_000, "invalid_gold", "adv"),
    gr("<think>It might be 5.</think>The answer is $\\boxed{7}$.", "7", "correct", "ours"),
    gr("<think>\\boxed{7}</think>I could not finish.", "7", "no_answer", "ours", "", C_THINK),
    gr("<think>Let me see, 3+4 = 7 so \\boxed{7}", "7", "no_answer", "ours", "unfinished thinking", C_THINK),
    gr("First \\boxed{3}, then corrected: \\boxed{4}", "4", "correct"),
    gr("The answer is $\\boxed{20!}$", "2432902008176640000", "correct", "issue"),
    gr("So $\\boxed{2432902008176640001}$", "20!", "incorrect", "issue"),
    gr("The meeting ends at \\boxed{10:30}.", "10:30", "correct", "issue"),
    gr("The meeting ends at \\boxed{10:30}.", "10.5", "incorrect", "issue", "", C_RATIO),
    gr("\\boxed{x = 1 \\pm \\sqrt{2}}", "1+\\sqrt{2}, 1-\\sqrt{2}", "correct", "issue"),
    gr("So $(m, n) = \\boxed{(4, 7)}$.", "(4,7)", "correct", "issue"),
    gr("\\boxed{(m,n)=(4,7)}", "(4,7)", "correct", "issue"),
    gr("The domain is $\\boxed{\\mathbb{R}}$.", "(-\\infty,\\infty)", "correct", "issue"),
    gr("Thus $\\boxed{x \\ge 2}$.", "[2,\\infty)", "correct", "issue", "", C_INTERVAL),
    gr("#### 1,000,000", "1000000", "correct", "ours"),
    gr("The answer is $\\boxed{120}$.", "5!", "correct", "issue", "a gold keeps its factorial sign"),
    gr("The answer is $\\boxed{5}$.", "5!", "incorrect", "issue"),
    gr("The answer is 25%.", "25", "correct", "mv"),
    gr("The answer is $\\boxed{(x+y+z+w)^{40}}$", "x^{40}", "incorrect", "adv", "refused by the screen"),
]


# Adversarial (response, gold) pairs: each must return within timeout + 1 s, never raise.
ADVERSARIAL: list[tuple[Any, Any]] = [
    ("The answer is 9^{9^{9^9}}", "1"),
    ("\\boxed{10**10**10}", "1"),
    ("The answer is 2^{2^{2^{2^{2^{2}}}}}", "1"),
    ("The answer is " + "(" * 2000 + "1" + ")" * 2000, "1"),
    ("\\boxed{" + "{" * 2000 + "1" + "}" * 2000 + "}", "1"),
    ("The answer is " + "\\sqrt{" * 300 + "2" + "}" * 300, "2"),
    ("x" * 100_000, "1"),
    ("The answer is " + "1+" * 700 + "1", "700"),
    ("\\boxed{\\frac{1}{", "1"),
    ("\\boxed{}}}}{{{", "1"),
    ("The answer is \\begin{pmatrix}", "1"),
    ("\x00" * 1000, "1"),
    ("The answer is \x00\x01\x02", "1"),
    ("The answer is __import__('os').system('touch /tmp/pwned')", "0"),
    ("\\boxed{eval('1+1')}", "2"),
    ("The answer is ().__class__.__mro__", "1"),
    ("The answer is 100000!", "1"),
    ("The answer is x^{10^{10}}", "x"),
    ("The answer is (x+1)^{1000}", "x"),
    ("The answer is " + "\\frac{1}{" * 200 + "2" + "}" * 200, "1"),
    (None, None),
    (b"bytes", "1"),
    ("The answer is 5", {"gold": 5}),
    ("The answer is ¹²³ ⁴⁵", "1"),
    ("The answer is \ud800", "1"),
]


# ---------------------------------------------------------------------------------------
# Rows of math-verify's tests/test_all.py. They were first scored as a held-out set, and the
# code was then fixed on them, so they are tuned rows now. Rows are mv(gold, response,
# expected status), the argument order of math-verify's tests; ``expected`` follows our
# conventions, and ``contested`` says where math-verify's own label differs.


def mv(gold: Any, response: Any, expected: str, source: str = "mv", note: str = "", contested: str = "") -> Case:
    return Case(response, gold, expected, source, note, contested)


MV_TESTS: list[Case] = [
    mv("$9$", "Answer \\[ 9 \\]", "correct", "mv"),
    mv("$9$", "Answer $ 9 $", "correct", "mv"),
    mv("$9$", "Answer $$ 9 $$", "correct", "mv"),
    mv("$9$", "Answer \\( 9 \\)", "correct", "mv"),
    mv("$10$", "Answer \\( (9+1) \\)", "correct", "mv"),
    mv("$1/3$", "$\\frac13 $", "correct", "mv"),
    mv("$1$", "$\\frac3{3} $", "correct", "mv"),
    mv("$1/3$", "$k = \\frac{1}{3}$", "correct", "mv"),
    mv("$28\\%$", "$\\boxed{28 percent}", "correct", "mv"),
    mv("$28\\%$", "28", "correct", "mv"),
    mv("$0.28$", "28", "incorrect", "mv"),
    mv("$\\frac{28}{100}$", "28", "incorrect", "mv"),
    mv("$28*\\frac{1}{100}$", "28", "incorrect", "mv"),
    mv("$2-2p$", "Since $x<2$, it follows that $|x-2|=2-x$. If $2-x=p$, then $x=2-p$. Thus $x-p=\\boxed{2-2p}$.", "correct", "mv"),
    mv("$x >= 5$", "Therefore $x \\geq 5$ is the solution.", "no_answer", "mv", "", C_NO_MARKER),
    mv("$x < 3$", "We find that $x \\lt 3$.", "no_answer", "mv", "", C_NO_MARKER),
    mv("$x \\leq 2$", "Thus $x <= 2$ is our answer.", "no_answer", "mv", "", C_NO_MARKER),
    mv("$x > 5$", "Therefore $x < 5$ is the solution.", "incorrect", "mv"),
    mv("$x \\geq 5$", "The solution is $x \\leq 5$", "incorrect", "mv"),
    mv("$x \\geq 5$", "$5 \\leq x$", "correct", "mv"),
    mv("$x = 11$", "$x = 5+5+1 = 7 =11$", "correct", "mv"),
    mv("$11$", "$x=11$", "correct", "mv"),
    mv("$11$", "$x\\approx11$", "correct", "mv"),
    mv("$x < 1$", "$-x > -1$", "correct", "mv"),
    mv("$x < 1$", "$x > -1$", "incorrect", "mv"),
    mv("$2x + z = 1$", "$1$", "incorrect", "mv"),
    mv("$a^2 + b = 0$", "$0$", "incorrect", "mv"),
    mv("$z = 1 + 1 = 2$", "$z = 3+3 = 2$", "correct", "mv"),
    mv("$2x+4y-3=0$", "$y=-\\frac{1}{2}x+\\frac{3}{4}$", "correct", "mv"),
    mv("$x^2/4 + y^2/3 = 1$", "$x^2/16 + y^2/12 = 1/4$", "correct", "mv"),
    mv("$34x+45y-20z+100=0$", "$-34x-45y+20z-100=0$", "correct", "mv"),
    mv("$\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}$",
     "The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$", "no_answer", "mv", "", C_NO_MARKER),
    mv("$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}$", "$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}$", "correct", "mv"),
    mv("$(a+5)(b+2)$", "$(+5)(b+2)$", "incorrect", "mv"),
    mv("$2$", "$\\frac{1+\\sqrt{5}}{2}$", "incorrect", "mv"),
    mv("$4$", "$\\frac{34}{16}+\\frac{\\sqrt{1358}}{16}$", "incorrect", "mv"),
    mv("$1\\sqrt{19}$", "$1$", "incorrect", "mv"),
    mv("$x+2n+1$", "$x+1$", "incorrect", "mv"),
    mv("$(\\frac{3}{5},\\frac{8}{3}]$", "$(0.6,2.6667]$", "incorrect", "mv", "math-verify at precision 2", C_DECIMAL),
    mv("$\\frac{1}{12}$", "$0.0833333333333333$", "incorrect", "mv", "math-verify rounds to 6 places", C_DECIMAL),
    mv("$2/3$", "Therefore, the probability that Alice wins the game is 2/3. <|im_start|>user", "no_answer", "mv", "", C_NO_MARKER),
    mv("$12$", "Therefore, there are 12 distinct arithmetic sequences that meet the three given conditions. I hope it is correct.", "no_answer", "mv", "", C_NO_MARKER),
    mv("$[0,1)$", "Final Answer: The final answer is $(0, 1)$. I hope it is correct. <|im_start|>user", "incorrect", "mv"),
    mv("$16386.20$", "Paula's investment is worth $\\boxed{\\$16,\\!386.20}$ at the end. The answer is $16,\\!386.20$.", "correct", "mv"),
    mv("$120$", "Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "correct", "mv"),
    mv("12000023", "$85 + (-67) + 12,\\!000,\\!003 + (-3) = 12,\\!000,\\!023$. Final Answer: The final answer is 12,000,023. I hope it is correct.", "correct", "mv"),
    mv("$\\left(\\frac{1}{5},\\frac{1}{6}\\right)$", "Thus, $(p,q) = \\boxed{\\left( \\frac{1}{5}, \\frac{1}{6} \\right)}.$", "correct", "mv"),
    mv("$\\frac{5\\sqrt{42}}{27}$", "Final Answer: The final answer is $\\frac{10\\sqrt{10.5}}{27}$. I hope it is", "correct", "mv"),
    mv("$125$ miles", "The distance is $\\boxed{125\\textnormal{ miles}}.$", "correct", "mv"),
    mv("$(3, \\frac{\\pi}{2})$", "the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", "correct", "mv"),
    mv("$1 \\pm \\sqrt{19}$", "By the quadratic formula, $x = \\boxed{1 \\pm \\sqrt{19}}.$", "correct", "mv"),
    mv("$f(2) < f(1) < f(4)$", "Hence, $\\boxed{f(2) < f(1) < f(4)}.$", "correct", "mv"),
    mv("$204_5$", "for a quotient of $\\boxed{204_5}$.", "correct", "mv"),
    mv("$[-3,2]$", "the domain is $\\boxed{(-\\infty, -3] \\cup [2, \\infty)}$. Final Answer: The final answer is $(-\\infty, -3] \\cup [2, \\infty)$.", "incorrect", "mv"),
]

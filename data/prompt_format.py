"""How a question and a step prefix become a prompt: one step per line.

The policy was trained on ``question + "\\n" + steps joined by "\\n"``, so a continuation
from the first ``k`` steps starts right after the ``k``-th newline.

>>> build_prompt("What is 2 + 3?", ["2 + 3 = 5"])
'What is 2 + 3?\\n2 + 3 = 5\\n'
>>> build_prompt("What is 2 + 3?", [])
'What is 2 + 3?\\n'
"""
from __future__ import annotations

STEP_DELIMITER = "\n"


def build_prompt(question: str, steps_prefix: list[str] | tuple[str, ...] = (), delimiter: str = STEP_DELIMITER) -> str:
    """``delimiter`` separates steps as the policy writes them ("\\n\\n" for paragraph-style models)."""
    return question.strip() + STEP_DELIMITER + "".join(s + delimiter for s in steps_prefix)


def solution_text(steps: list[str], delimiter: str = STEP_DELIMITER) -> str:
    """The solution body as the policy writes it.

    >>> solution_text(["a", "b"])
    'a\\nb'
    """
    return delimiter.join(steps)

"""Split a solution into steps.

>>> split_steps("2 + 3 = 5\\n\\n5 * 2 = 10. The answer is 10\\n")
['2 + 3 = 5', '5 * 2 = 10. The answer is 10']
>>> split_steps("Step 1: add.\\nmore\\nStep 2: done.", StepStyle.STEP_MARKER)
['Step 1: add.\\nmore', 'Step 2: done.']
>>> split_steps("First part.\\nstill first\\n\\nSecond part.", StepStyle.PARAGRAPH)
['First part.\\nstill first', 'Second part.']
"""
from __future__ import annotations

import enum
import re


class StepStyle(str, enum.Enum):
    NEWLINE = "newline"  # one step per non-empty line (our policy, GSM8K solutions)
    PARAGRAPH = "paragraph"  # steps separated by blank lines (most chat models)
    STEP_MARKER = "step_marker"  # "Step 1:", "Step 2:", ... starts each step


_STEP_MARKER = re.compile(r"(?im)^(?=\s*(?:##\s*)?step\s*\d+\s*[:.)])")


def split_steps(solution: str, style: StepStyle | str = StepStyle.NEWLINE) -> list[str]:
    style = StepStyle(style)
    text = solution.replace("\r\n", "\n").strip()
    if not text:
        return []
    if style is StepStyle.NEWLINE:
        parts = text.split("\n")
    elif style is StepStyle.PARAGRAPH:
        parts = re.split(r"\n\s*\n", text)
    else:
        parts = _STEP_MARKER.split(text)
    return [p.strip() for p in parts if p.strip()]


def step_stop_strings(style: StepStyle | str = StepStyle.NEWLINE) -> tuple[str, ...]:
    """What ends one generated step, for step-at-a-time search.

    >>> step_stop_strings("newline")
    ('\\n',)
    """
    style = StepStyle(style)
    return {"newline": ("\n",), "paragraph": ("\n\n",), "step_marker": ("\nStep",)}[style.value]


def step_delimiter(style: StepStyle | str = StepStyle.NEWLINE) -> str:
    """What the policy writes between two steps, so a rollout continues text it could have written.

    >>> step_delimiter("paragraph")
    '\\n\\n'
    """
    return "\n\n" if StepStyle(style) is StepStyle.PARAGRAPH else "\n"

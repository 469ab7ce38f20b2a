"""Split a solution into steps.

>>> split_steps("2 + 3 = 5\\n\\n5 * 2 = 10. The answer is 10\\n")
['2 + 3 = 5', '5 * 2 = 10. The answer is 10']
>>> split_steps("Step 1: add.\\nmore\\nStep 2: done.", StepStyle.STEP_MARKER)
['Step 1: add.\\nmore', 'Step 2: done.']
>>> split_steps("First part.\\nstill first\\n\\nSecond part.", StepStyle.PARAGRAPH)
['First part.\\nstill first', 'Second part.']

:func:`split_trace` also keeps the text between the steps, so that :func:`join_steps` gives the trace
back exactly, and splits reasoning traces (``<think>…</think>`` then an answer) by paragraph of thought.
"""
from __future__ import annotations

import dataclasses
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


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_SEPARATORS = {StepStyle.NEWLINE: re.compile(r"\n"), StepStyle.PARAGRAPH: re.compile(r"\n\s*\n"),
               StepStyle.STEP_MARKER: _STEP_MARKER}


def default_step_style(format_kind: str) -> StepStyle:
    """How the policy's solutions split into steps, by resolved prompt format kind (or a ``PromptFormat``):
    a chat model writes paragraphs, a base model one step per line.

    >>> default_step_style("chat")
    <StepStyle.PARAGRAPH: 'paragraph'>
    >>> default_step_style("plain")
    <StepStyle.NEWLINE: 'newline'>
    """
    kind = getattr(format_kind, "kind", format_kind)
    if kind == "chat":
        return StepStyle.PARAGRAPH
    if kind == "plain":
        return StepStyle.NEWLINE
    raise ValueError(f"prompt format: field kind: {kind!r} has no default step style "
                     "(resolve 'auto' against the tokenizer first; expected plain or chat)")


@dataclasses.dataclass(frozen=True)
class SplitTrace:
    """A trace as steps and the exact text between them.

    ``delimiters[0]`` precedes the first step (e.g. ``"<think>\\n"``), ``delimiters[i]`` lies between
    step ``i - 1`` and step ``i``, ``delimiters[-1]`` follows the last step; ``join()`` is the original
    text. The first ``n_thinking`` steps lie inside a ``<think>`` block; when there is one, the step
    after them is the answer, and the delimiter before it holds ``</think>``.
    """
    steps: tuple[str, ...]
    delimiters: tuple[str, ...]
    n_thinking: int = 0

    def join(self) -> str:
        return join_steps(self.steps, self.delimiters)

    def prefix(self, k: int) -> str:
        """The assistant's text up to where step ``k`` starts (the first ``k`` steps and their delimiters).

        A delimiter that closes the thinking part is cut before ``</think>``, so a rollout from a
        step inside the thinking part continues inside it.
        """
        if not 0 <= k <= len(self.steps):
            raise ValueError(f"step prefix: field k: {k} is outside 0..{len(self.steps)}")
        parts = [self.delimiters[0]]
        for step, delim in zip(self.steps[:k], self.delimiters[1:k + 1]):
            parts += [step, delim]
        text = "".join(parts)
        return text[:text.index(THINK_CLOSE)] if k <= self.n_thinking and THINK_CLOSE in text else text


def join_steps(steps: list[str] | tuple[str, ...], delimiters: list[str] | tuple[str, ...]) -> str:
    """Steps interleaved with their delimiters: the inverse of :func:`split_trace`.

    >>> join_steps(["a", "b"], ["<think>\\n", "\\n\\n", "\\n"])
    '<think>\\na\\n\\nb\\n'
    >>> join_steps(["a", "b"], ["", ""])
    Traceback (most recent call last):
    ...
    ValueError: trace: field delimiters: 2 steps need 3 delimiters (before, between and after the steps), got 2
    """
    if len(delimiters) != len(steps) + 1:
        raise ValueError(f"trace: field delimiters: {len(steps)} steps need {len(steps) + 1} delimiters "
                         f"(before, between and after the steps), got {len(delimiters)}")
    return delimiters[0] + "".join(s + d for s, d in zip(steps, delimiters[1:]))


def check_rejoin(text: str, steps: list[str] | tuple[str, ...], delimiters: list[str] | tuple[str, ...],
                 record: str | None = None) -> None:
    """Raise unless the steps joined with their delimiters give back ``text`` exactly.

    >>> check_rejoin("a\\n\\nb", ["a", "b"], ["", "\\n\\n", ""])
    >>> check_rejoin("a\\n\\nb", ["a", "c"], ["", "\\n\\n", ""], record="t1")
    Traceback (most recent call last):
    ...
    ValueError: trace t1: field steps: the steps and delimiters do not re-join into the trace text (first difference at character 3: 'b' in the text, 'c' re-joined)
    """
    joined = join_steps(steps, delimiters)
    if joined == text:
        return
    at = next((i for i, (a, b) in enumerate(zip(text, joined)) if a != b), min(len(text), len(joined)))
    where = f"trace {record}" if record is not None else "trace"
    raise ValueError(f"{where}: field steps: the steps and delimiters do not re-join into the trace text "
                     f"(first difference at character {at}: {text[at:at + 12]!r} in the text, "
                     f"{joined[at:at + 12]!r} re-joined)")


def _spans(text: str, start: int, end: int, style: StepStyle) -> list[tuple[int, int]]:
    """Stripped, non-empty chunks of ``text[start:end]`` between separators, as absolute offsets."""
    segment = text[start:end]
    bounds, prev = [], 0
    for m in _SEPARATORS[style].finditer(segment):
        bounds.append((prev, m.start()))
        prev = m.end()
    bounds.append((prev, len(segment)))
    spans = []
    for a, b in bounds:
        chunk = segment[a:b]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((start + a + lead, start + a + len(chunk.rstrip())))
    return spans


def _merge_short(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Each span shorter than ``min_chars`` takes in the next one (the last one joins the previous)."""
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and merged[-1][1] - merged[-1][0] < min_chars:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < min_chars:
        last = merged.pop()
        merged[-1] = (merged[-1][0], last[1])
    return merged


def _merge_evenly(spans: list[tuple[int, int]], max_count: int) -> list[tuple[int, int]]:
    """At most ``max_count`` groups of neighbouring spans, of about equal length in characters."""
    if len(spans) <= max_count:
        return spans
    first, total = spans[0][0], spans[-1][1] - spans[0][0]
    groups: list[tuple[int, int]] = []
    last_group = -1
    for a, b in spans:
        group = min(max_count - 1, int(max_count * ((a + b) / 2 - first) / total))
        if group == last_group:
            groups[-1] = (groups[-1][0], b)
        else:
            groups.append((a, b))
            last_group = group
    return groups


def split_trace(text: str, style: StepStyle | str = StepStyle.PARAGRAPH, *, min_step_chars: int = 0,
                max_steps: int | None = None, record: str | None = None) -> SplitTrace:
    """Split a trace into steps, keeping the text between them so that it round-trips.

    A trace with ``</think>`` takes its steps from the thinking part by paragraph (whatever ``style``),
    and the answer after ``</think>`` is the last step. The thinking part starts after ``<think>``, or
    at the start of the text when the opener was part of the prompt. Otherwise ``style`` splits the
    text as :func:`split_steps` does (but steps keep ``\\r\\n`` as written). Steps shorter than
    ``min_step_chars`` merge into the next one (the last into the previous); then neighbours merge
    evenly, by length, so that there are at most ``max_steps`` (the answer counts as one).

    >>> t = split_trace("<think>\\nAdd 2 and 3.\\n\\nThat is 5.\\n</think>\\n\\nThe answer is \\\\boxed{5}.")
    >>> t.steps
    ('Add 2 and 3.', 'That is 5.', 'The answer is \\\\boxed{5}.')
    >>> t.delimiters
    ('<think>\\n', '\\n\\n', '\\n</think>\\n\\n', '')
    >>> t.join() == "<think>\\nAdd 2 and 3.\\n\\nThat is 5.\\n</think>\\n\\nThe answer is \\\\boxed{5}."
    True
    >>> t.prefix(2)
    '<think>\\nAdd 2 and 3.\\n\\nThat is 5.\\n'
    >>> split_trace("<think>\\nHmm.\\n\\nAdd 2 and 3.\\n</think>\\n5", min_step_chars=6).steps
    ('Hmm.\\n\\nAdd 2 and 3.', '5')
    >>> split_trace("<think>\\nno end", record="t7")
    Traceback (most recent call last):
    ...
    ValueError: trace t7: field text: a <think> block has no closing </think> (a truncated trace?)
    """
    style = StepStyle(style)
    where = f"trace {record}" if record is not None else "trace"
    if min_step_chars < 0:
        raise ValueError(f"{where}: field min_step_chars: must be >= 0, got {min_step_chars}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"{where}: field max_steps: must be >= 1, got {max_steps}")
    close = text.find(THINK_CLOSE)
    opener = text.find(THINK_OPEN)
    if close == -1:
        if opener != -1:
            raise ValueError(f"{where}: field text: a {THINK_OPEN} block has no closing {THINK_CLOSE} "
                             "(a truncated trace?)")
        spans = _merge_short(_spans(text, 0, len(text), style), min_step_chars)
        spans = spans if max_steps is None else _merge_evenly(spans, max_steps)
        return _from_spans(text, spans, 0)
    think_start = opener + len(THINK_OPEN) if 0 <= opener < close else 0
    answer = _spans(text, close + len(THINK_CLOSE), len(text), StepStyle.PARAGRAPH)
    answer = [(answer[0][0], answer[-1][1])] if answer else []
    thinking = _merge_short(_spans(text, think_start, close, StepStyle.PARAGRAPH), min_step_chars)
    if max_steps is not None:
        budget = max_steps - len(answer)
        if budget < 1 and thinking:
            raise ValueError(f"{where}: field max_steps: {max_steps} leaves no step for the thinking part "
                             "besides the answer; use at least 2")
        thinking = _merge_evenly(thinking, budget)
    return _from_spans(text, thinking + answer, len(thinking))


def _from_spans(text: str, spans: list[tuple[int, int]], n_thinking: int) -> SplitTrace:
    cuts = [0] + [x for span in spans for x in span] + [len(text)]
    delimiters = tuple(text[cuts[i]:cuts[i + 1]] for i in range(0, len(cuts), 2))
    return SplitTrace(tuple(text[a:b] for a, b in spans), delimiters, n_thinking)

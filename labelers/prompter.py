"""One policy's prompt format in use: the prompts every stage sends, the stops, and how completions split.

A ``Prompter`` pairs a resolved ``PromptFormat`` (``plain`` or ``chat``) with the policy's tokenizer
and step style. Generate, label, search, RL, RFT and the PRM scorers all build prompts through it,
so a rollout from a step prefix continues text the policy could have written, in its own format:

- ``plain``: ``question + "\\n"`` then the steps, each followed by the step delimiter (base models);
- ``chat``: the tokenizer's chat template, the question as the user turn (plus the instruction),
  and the solution so far as the partial assistant message, continued, not closed.

>>> p = Prompter.plain()
>>> p.prefix_prompt("What is 2 + 3?", ["2 + 3 = 5"])
'What is 2 + 3?\\n2 + 3 = 5\\n'
>>> p.split("2 + 3 = 5\\nThe answer is 5").steps
('2 + 3 = 5', 'The answer is 5')
>>> p.stops, p.fmt.kind
((), 'plain')
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from data.prompt_format import (PromptFormat, build_prompt, end_of_turn_stops, end_of_turn_token_ids, render_prompt,
                                render_prompt_text, resolve_format, solution_text)
from labelers.step_split import (THINK_CLOSE, THINK_OPEN, SplitTrace, StepStyle, default_step_style, join_steps, split_steps,
                                 split_trace, step_delimiter, step_stop_strings)


@dataclass
class Prompter:
    fmt: PromptFormat  # resolved: plain or chat
    tokenizer: Any = None
    step_style: StepStyle = StepStyle.NEWLINE
    min_step_chars: int = 0
    max_steps: int | None = None
    model_name: str = "policy"

    def __post_init__(self):
        self.step_style = StepStyle(self.step_style)
        if self.fmt.kind == "auto":
            raise ValueError("Prompter: field fmt: resolve 'auto' against the tokenizer first (Prompter.build)")
        self._stops = tuple(end_of_turn_stops(self.tokenizer)) if self.fmt.kind == "chat" else ()

    @classmethod
    def plain(cls, step_style: StepStyle | str = StepStyle.NEWLINE) -> "Prompter":
        return cls(PromptFormat("plain", None, None), None, StepStyle(step_style))

    @classmethod
    def build(cls, fmt: PromptFormat | dict | str | None, tokenizer: Any, model_name: str = "policy",
              step_style: StepStyle | str | None = None, min_step_chars: int = 0,
              max_steps: int | None = None) -> "Prompter":
        """Resolve ``fmt`` (``auto``: chat when the tokenizer has a template) against the policy's tokenizer;
        the step style defaults to paragraphs for chat and lines for plain."""
        fmt = parse_format(fmt)
        resolved = resolve_format(fmt, tokenizer, model_name)
        style = StepStyle(step_style) if step_style else default_step_style(resolved.kind)
        return cls(resolved, tokenizer if resolved.kind == "chat" else None, style, min_step_chars, max_steps,
                   model_name)

    @property
    def delimiter(self) -> str:
        return step_delimiter(self.step_style)

    @property
    def add_special_tokens(self) -> bool:
        """A chat template writes its own special tokens; the engine must not add a BOS in front."""
        return self.fmt.kind == "plain"

    def end_of_turn_id(self, tokenizer) -> int:
        """The token that ends the policy's answer: the template's end-of-turn token for chat (the first
        single-token stop that is not EOS, else EOS), EOS for plain."""
        if self.fmt.kind == "chat":
            ids = [i for i in end_of_turn_token_ids(tokenizer) if i != tokenizer.eos_token_id]
            if ids:
                return ids[0]
        return tokenizer.eos_token_id

    @property
    def stops(self) -> tuple[str, ...]:
        """Where a whole solution ends: the template's end-of-turn strings (none for plain: EOS ends it)."""
        return self._stops

    @property
    def step_stops(self) -> tuple[str, ...]:
        """Where one generated step ends (step-level search), end of turn included."""
        return tuple(step_stop_strings(self.step_style)) + self._stops

    def describe(self) -> dict[str, Any]:
        """What a manifest and every output row record of the prompt format."""
        return {**self.fmt.to_dict(), "step_style": self.step_style.value, "min_step_chars": self.min_step_chars,
                "max_steps": self.max_steps}

    def provenance(self) -> str:
        return json.dumps(self.describe(), sort_keys=True)

    def question_prompt(self, question: str) -> str:
        """The prompt from which the policy writes a whole solution."""
        return render_prompt(self.fmt, self.tokenizer, question, (), self.delimiter, self.model_name)

    def prefix_prompt(self, question: str, steps: Sequence[str], delimiters: Sequence[str] | None = None) -> str:
        """The prompt from which the policy writes the step after ``steps``; with ``delimiters`` (the
        trace's recorded ones, one more than its steps) the prefix is the policy's own text exactly."""
        if self.fmt.kind == "plain" and delimiters is None:
            return build_prompt(question, list(steps), self.delimiter)
        return render_prompt_text(self.fmt, self.tokenizer, question, self.prefix_text(steps, delimiters),
                                  self.model_name)

    def prefix_text(self, steps: Sequence[str], delimiters: Sequence[str] | None = None) -> str:
        """The assistant's text up to where the step after ``steps`` starts.

        >>> Prompter.plain().prefix_text(["a", "b"])
        'a\\nb\\n'
        >>> Prompter.plain().prefix_text(["think"], ["<think>\\n", "\\n</think>\\n\\n", ""])
        '<think>\\nthink\\n'
        """
        if delimiters is None:
            return "".join(s + self.delimiter for s in steps)
        if len(delimiters) <= len(steps):
            raise ValueError(f"trace: field step_delimiters: {len(delimiters)} delimiters cannot frame "
                             f"{len(steps)} steps (one more than the trace's steps are needed)")
        n_thinking = next((i for i, d in enumerate(delimiters) if THINK_CLOSE in d), 0)
        return SplitTrace(tuple(steps), tuple(delimiters), n_thinking).prefix(len(steps))

    def split(self, text: str, record: str | None = None) -> SplitTrace:
        """The steps of an assistant message (the policy's completion), keeping the text between them."""
        return split_trace(text, self.step_style, min_step_chars=self.min_step_chars, max_steps=self.max_steps,
                           record=record)

    def steps_of(self, text: str, record: str | None = None) -> tuple[list[str], list[str] | None]:
        """The steps of a sampled completion, and the text around them when it is more than the plain
        delimiter (chat paragraphs, ``<think>`` blocks), so that a prefix prompt rebuilds the text exactly.

        >>> Prompter.plain().steps_of("1 + 1 = 2\\nThe answer is 2")
        (['1 + 1 = 2', 'The answer is 2'], None)
        """
        if self.fmt.kind == "plain":
            return split_steps(text, self.step_style), None
        split, exact = self.split_loose(text, record)
        return list(split.steps), list(split.delimiters) if exact else None

    def split_loose(self, text: str, record: str | None = None) -> tuple[SplitTrace, bool]:
        """``split`` that never raises: a ``<think>`` left open (the sample ran out of tokens) splits by
        paragraph as plain text; the flag says whether the split is the exact one."""
        try:
            return self.split(text, record), True
        except ValueError:
            blanked = text.replace(THINK_OPEN, " " * len(THINK_OPEN))  # same length: spans still index ``text``
            loose = split_trace(blanked, self.step_style, min_step_chars=self.min_step_chars,
                                max_steps=self.max_steps)
            return SplitTrace(tuple(loose.steps), tuple(loose.delimiters), 0), False

    def char_steps(self, text: str) -> list[int]:
        """The step each character of a completion belongs to: a step's own text and the delimiter after
        it count to it, text before the first step to step 0.

        >>> Prompter.plain().char_steps("a = 1\\n\\nb = 2")
        [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        """
        split, _ = self.split_loose(text)
        out = [0] * len(split.delimiters[0])
        for i, (step, after) in enumerate(zip(split.steps, split.delimiters[1:])):
            out += [i] * (len(step) + len(after))
        return out

    def solution(self, steps: Sequence[str], delimiters: Sequence[str] | None = None) -> str:
        """The whole assistant message of a trace, as the verifier reads it."""
        if delimiters is not None:
            return join_steps(list(steps), list(delimiters))
        return solution_text(list(steps), self.delimiter)


def parse_format(fmt: PromptFormat | dict | str | None) -> PromptFormat:
    """A ``PromptFormat`` from a kind name, a mapping (manifest, ``prm_config.json``) or None (``auto``).

    >>> parse_format("plain").kind, parse_format(None).kind
    ('plain', 'auto')
    """
    if fmt is None:
        return PromptFormat()
    if isinstance(fmt, PromptFormat):
        return fmt
    if isinstance(fmt, dict):
        known = {k: v for k, v in fmt.items() if k in ("kind", "system_prompt", "instruction")}
        return PromptFormat.from_dict(known)
    return PromptFormat(kind=str(fmt))


def prompter_from_provenance(text: str | dict | None, tokenizer: Any, model_name: str = "policy",
                             default_style: StepStyle | str | None = None, empty: str = "auto") -> Prompter:
    """The prompter a run recorded (``Prompter.describe`` or ``provenance``). An empty config is ``auto``, as
    on the CLI: chat when the tokenizer has a chat template, else plain, with ``default_style`` steps (or the
    format's own: paragraphs for chat, lines for plain). An empty *record* (label rows, ``prm_config.json``)
    was written in the plain format: pass ``empty="plain"``.

    >>> prompter_from_provenance("", None).fmt.kind
    'plain'
    """
    if not text:
        if empty == "plain":
            return Prompter.plain(default_style or StepStyle.NEWLINE)
        return Prompter.build("auto", tokenizer, model_name, default_style or None)
    data = json.loads(text) if isinstance(text, str) else dict(text)
    return Prompter.build(parse_format(data), tokenizer, model_name, data.get("step_style"),
                          data.get("min_step_chars") or 0, data.get("max_steps"))

"""How a question and a step prefix become a prompt: ``plain`` for base models, ``chat`` for instruct models.

``plain`` is what a base policy was trained on: ``question + "\\n" + steps joined by "\\n"``, so a
continuation from the first ``k`` steps starts right after the ``k``-th delimiter.

>>> build_prompt("What is 2 + 3?", ["2 + 3 = 5"])
'What is 2 + 3?\\n2 + 3 = 5\\n'
>>> build_prompt("What is 2 + 3?", [])
'What is 2 + 3?\\n'

``chat`` renders the policy tokenizer's own chat template: an optional system message, the question
with an instruction as the user message, and the solution so far as the *partial* assistant message,
so that a rollout continues the assistant's turn. ``auto`` is ``chat`` when the tokenizer has a template.

>>> fmt = PromptFormat("chat", system_prompt=None)
>>> user_message(fmt, "What is 2 + 3?")
'What is 2 + 3?\\n\\nPlease reason step by step, and put your final answer within \\\\boxed{}.'
>>> PromptFormat.from_dict(fmt.to_dict()) == fmt
True
>>> resolve_format("auto", None, "my-base-model")
PromptFormat(kind='plain', system_prompt=None, instruction=None)
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Sequence

STEP_DELIMITER = "\n"
FORMAT_KINDS = ("plain", "chat", "auto")
DEFAULT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
FORMAT_OPTION = "--prompt-format"
THINK_OPEN = "<think>"
# ChatML turns, the template the embedded policy is trained with (and a common one among instruct models).
CHATML_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                   "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CHATML_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>")


def build_prompt(question: str, steps_prefix: list[str] | tuple[str, ...] = (), delimiter: str = STEP_DELIMITER) -> str:
    """``delimiter`` separates steps as the policy writes them ("\\n\\n" for paragraph-style models)."""
    return question.strip() + STEP_DELIMITER + "".join(s + delimiter for s in steps_prefix)


def solution_text(steps: list[str], delimiter: str = STEP_DELIMITER) -> str:
    """The solution body as the policy writes it.

    >>> solution_text(["a", "b"])
    'a\\nb'
    """
    return delimiter.join(steps)


@dataclasses.dataclass(frozen=True)
class PromptFormat:
    """The prompt format of one run; ``to_dict`` goes into manifests and row provenance.

    ``instruction`` is appended to the question (after a blank line) in the ``chat`` format; ``plain``
    uses neither ``instruction`` nor ``system_prompt`` (its prompt is exactly :func:`build_prompt`).

    >>> PromptFormat("html")
    Traceback (most recent call last):
    ...
    ValueError: prompt format: field kind: unknown prompt format 'html' (expected one of plain, chat, auto; option --prompt-format)
    """
    kind: str = "auto"
    system_prompt: str | None = None
    instruction: str | None = DEFAULT_INSTRUCTION

    def __post_init__(self) -> None:
        if self.kind not in FORMAT_KINDS:
            raise ValueError(f"prompt format: field kind: unknown prompt format {self.kind!r} "
                             f"(expected one of {', '.join(FORMAT_KINDS)}; option {FORMAT_OPTION})")
        for name in ("system_prompt", "instruction"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"prompt format: field {name}: expected a string or null, got {type(value).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready mapping.

        >>> PromptFormat("plain", None, None).to_dict()
        {'kind': 'plain', 'system_prompt': None, 'instruction': None}
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PromptFormat":
        """Inverse of :meth:`to_dict`; a missing field takes its default, an unknown one raises.

        >>> PromptFormat.from_dict({"kind": "chat", "temperature": 1})
        Traceback (most recent call last):
        ...
        ValueError: prompt format: field temperature: unknown field (expected kind, system_prompt, instruction)
        """
        if not isinstance(data, dict):
            raise ValueError(f"prompt format: expected a mapping, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ValueError(f"prompt format: field {key}: unknown field (expected {', '.join(names)})")
        return cls(**data)


def _as_format(fmt: PromptFormat | str) -> PromptFormat:
    return fmt if isinstance(fmt, PromptFormat) else PromptFormat(kind=fmt)


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer carries a chat template.

    >>> has_chat_template(None)
    False
    """
    return bool(getattr(tokenizer, "chat_template", None))


def resolve_format(fmt: PromptFormat | str, tokenizer: Any, model_name: str) -> PromptFormat:
    """Turn ``auto`` into ``chat`` or ``plain``; check that ``chat`` is possible for this tokenizer.

    A resolved ``plain`` format carries no system prompt and no instruction, since its prompt has
    neither; asking for a system prompt or a non-default instruction on ``plain`` raises.

    >>> resolve_format("chat", None, "tiny-base")
    Traceback (most recent call last):
    ...
    ValueError: model tiny-base has no chat template, so prompt format 'chat' cannot apply; use --prompt-format plain (or auto)
    >>> resolve_format(PromptFormat("auto", system_prompt="Be brief."), None, "tiny-base")
    Traceback (most recent call last):
    ...
    ValueError: prompt format: field system_prompt: model tiny-base is prompted in the plain format (no chat template), which has no system prompt
    """
    fmt = _as_format(fmt)
    kind = fmt.kind
    if kind == "auto":
        kind = "chat" if has_chat_template(tokenizer) else "plain"
    if kind == "chat":
        if not has_chat_template(tokenizer):
            raise ValueError(f"model {model_name} has no chat template, so prompt format 'chat' cannot apply; "
                             f"use {FORMAT_OPTION} plain (or auto)")
        return dataclasses.replace(fmt, kind="chat")
    if fmt.system_prompt is not None:
        raise ValueError(f"prompt format: field system_prompt: model {model_name} is prompted in the plain format "
                         "(no chat template), which has no system prompt")
    if fmt.instruction not in (None, DEFAULT_INSTRUCTION):
        raise ValueError(f"prompt format: field instruction: model {model_name} is prompted in the plain format "
                         "(no chat template), which has no instruction")
    return PromptFormat("plain", None, None)


def user_message(fmt: PromptFormat, question: str) -> str:
    """The user turn of the ``chat`` format: the question, a blank line, the instruction (if any)."""
    q = question.strip()
    return f"{q}\n\n{fmt.instruction}" if fmt.instruction else q


def chat_messages(fmt: PromptFormat, question: str, assistant_prefix: str | None = None) -> list[dict[str, str]]:
    """The messages the ``chat`` format renders; the partial assistant message last, when given.

    >>> [m["role"] for m in chat_messages(PromptFormat("chat", "Be brief."), "Q?", "Step one.")]
    ['system', 'user', 'assistant']
    """
    messages = [] if fmt.system_prompt is None else [{"role": "system", "content": fmt.system_prompt}]
    messages.append({"role": "user", "content": user_message(fmt, question)})
    if assistant_prefix is not None:
        messages.append({"role": "assistant", "content": assistant_prefix})
    return messages


def assistant_prefix(steps_prefix: Sequence[str], delimiter: str = STEP_DELIMITER) -> str:
    """The assistant's text so far: each step followed by its delimiter, so the next step starts at the end.

    >>> assistant_prefix(["a", "b"], "\\n\\n")
    'a\\n\\nb\\n\\n'
    >>> assistant_prefix([])
    ''
    """
    return "".join(s + delimiter for s in steps_prefix)


def render_prompt(fmt: PromptFormat | str, tokenizer: Any, question: str, steps_prefix: Sequence[str] = (),
                  delimiter: str = STEP_DELIMITER, model_name: str | None = None) -> str:
    """The prompt from which the policy writes the step after ``steps_prefix``.

    ``plain``: :func:`build_prompt` (``tokenizer`` may be ``None``). ``chat``: see :func:`render_prompt_text`,
    with the assistant's text so far ``assistant_prefix(steps_prefix, delimiter)``. The prompt always ends
    exactly where the next step starts, i.e. after the last step's ``delimiter``.

    >>> render_prompt("plain", None, "What is 2 + 3?", ["2 + 3 = 5"]) == build_prompt("What is 2 + 3?", ["2 + 3 = 5"])
    True
    """
    fmt = _as_format(fmt)
    if fmt.kind == "plain":
        return build_prompt(question, list(steps_prefix), delimiter)
    return render_prompt_text(fmt, tokenizer, question, assistant_prefix(steps_prefix, delimiter), model_name)


def render_prompt_text(fmt: PromptFormat | str, tokenizer: Any, question: str, prefix_text: str,
                       model_name: str | None = None) -> str:
    """The prompt that continues ``prefix_text``, the assistant's text so far, verbatim.

    ``plain``: ``question.strip() + "\\n" + prefix_text``. ``chat`` (``auto`` is resolved here):

    - no prefix: the template with ``add_generation_prompt=True``;
    - otherwise the template renders the partial assistant message with ``continue_final_message=True``
      (no end-of-turn token, no new turn). Templates may strip the message's trailing whitespace
      (Llama-3's ``| trim`` does; ChatML keeps it), so the message is rendered without its trailing
      whitespace, which is then appended: the prompt ends exactly where the next step starts.
    - A template that does not render the partial message as its generation prompt followed by the text
      would not continue the text the policy was sampled from: R1-distilled templates put ``<think>\\n``
      into the generation prompt and drop the thinking of a message that holds ``</think>``; Qwen3-style
      templates put an empty ``<think>\\n\\n</think>`` before the last assistant message. Then the prompt
      is the generation prompt followed by ``prefix_text`` (an opening ``<think>`` that the generation
      prompt already ends with is not repeated).
    """
    fmt = _as_format(fmt)
    if fmt.kind == "plain":
        return question.strip() + STEP_DELIMITER + prefix_text
    name = model_name or getattr(tokenizer, "name_or_path", None) or "policy"
    fmt = resolve_format(fmt, tokenizer, name)
    if fmt.kind == "plain":
        return question.strip() + STEP_DELIMITER + prefix_text
    generation = tokenizer.apply_chat_template(chat_messages(fmt, question), tokenize=False, add_generation_prompt=True)
    body = prefix_text.rstrip()
    if not body:
        return generation + prefix_text
    tail = prefix_text[len(body):]
    try:
        cont = tokenizer.apply_chat_template(chat_messages(fmt, question, body), tokenize=False,
                                             continue_final_message=True)
    except ValueError:  # the template deleted part of the message (e.g. the thinking before </think>)
        cont = None
    if cont is not None and cont.startswith(generation) and cont[len(generation):] in (body, body.lstrip()):
        return cont + tail
    return generation + _without_repeated_think(generation, prefix_text)


def _without_repeated_think(generation: str, prefix_text: str) -> str:
    """Drop an opening ``<think>`` (and the whitespace after it that the prompt already ends with)
    from ``prefix_text`` when the generation prompt itself ends with ``<think>``.

    >>> _without_repeated_think("<|Assistant|><think>\\n", "<think>\\nFirst.\\n\\n")
    'First.\\n\\n'
    >>> _without_repeated_think("<|Assistant|>", "<think>\\nFirst.")
    '<think>\\nFirst.'
    """
    stripped = prefix_text.lstrip()
    if not (generation.rstrip().endswith(THINK_OPEN) and stripped.startswith(THINK_OPEN)):
        return prefix_text
    after = stripped[len(THINK_OPEN):]
    after_ws = after[:len(after) - len(after.lstrip())]
    shared = os.path.commonprefix([after_ws, generation[len(generation.rstrip()):]])
    return after[len(shared):]


_SENTINEL = "PRMFACTORYENDOFTURNPROBE"


def end_of_turn_stops(tokenizer: Any) -> list[str]:
    """Strings that end the assistant's turn: what the template writes after an assistant message
    (e.g. ``<|im_end|>``, ``<|eot_id|>``), split at whitespace, and the eos token; eos first.

    vLLM matches stop *strings* against detokenized text, from which special tokens are dropped by
    default: pass :func:`end_of_turn_token_ids` as ``stop_token_ids`` as well.
    """
    stops: list[str] = []
    eos = getattr(tokenizer, "eos_token", None)
    if eos:
        stops.append(str(eos))
    if has_chat_template(tokenizer):
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": _SENTINEL}], tokenize=False)
        if _SENTINEL not in rendered:
            raise ValueError("the chat template does not render an assistant message's content verbatim, "
                             "so its end-of-turn marker cannot be found")
        stops += [s for s in rendered[rendered.rindex(_SENTINEL) + len(_SENTINEL):].split() if s not in stops]
    if not stops:
        raise ValueError("the tokenizer has neither an eos token nor a chat template that ends the assistant turn")
    return stops


def end_of_turn_token_ids(tokenizer: Any) -> list[int]:
    """Token ids of those :func:`end_of_turn_stops` that are a single token each."""
    ids: list[int] = []
    for stop in end_of_turn_stops(tokenizer):
        encoded = tokenizer.encode(stop, add_special_tokens=False)
        if len(encoded) == 1 and encoded[0] not in ids and encoded[0] != getattr(tokenizer, "unk_token_id", None):
            ids.append(int(encoded[0]))
    return ids


def cut_at_stops(completion: str, stops: Sequence[str]) -> str:
    """A sampled completion up to its first end-of-turn string (engines that keep special tokens return it).

    >>> cut_at_stops("x = 5.<|im_end|>\\n<|im_start|>user", ["<|im_end|>"])
    'x = 5.'
    >>> cut_at_stops("no stop here", ["<|eot_id|>"])
    'no stop here'
    """
    cut = len(completion)
    for stop in stops:
        if stop and (i := completion.find(stop)) != -1:
            cut = min(cut, i)
    return completion[:cut]


def assistant_text(prefix_text: str, completion: str, stops: Sequence[str] = ()) -> str:
    """The whole assistant message after a rollout from ``prefix_text``; split it into steps with
    ``labelers.step_split.split_trace`` (the chat template itself adds nothing inside the message).

    >>> assistant_text("<think>\\nAdd.\\n\\n", "Done.\\n</think>\\n\\n\\\\boxed{5}<|im_end|>", ["<|im_end|>"])
    '<think>\\nAdd.\\n\\nDone.\\n</think>\\n\\n\\\\boxed{5}'
    """
    return prefix_text + cut_at_stops(completion, stops)

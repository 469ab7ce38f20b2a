"""The Prompter every stage prompts through: plain prompts stay as they were, chat prompts continue the
assistant's turn (inside a ``<think>`` block when the prefix is), and bad input names its field."""
import json

import pytest
from transformers import PreTrainedTokenizerFast
from tokenizers import Tokenizer, models, pre_tokenizers

from data.prompt_format import build_prompt
from data.records import Trace
from labelers.prompter import Prompter, prompter_from_provenance
from labelers.rounds import LabelConfig, make_prompter, rollout_request

R1_TEMPLATE = ("{% for m in messages %}{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
               "{% else %}<｜Assistant｜>{{ m['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}"
               "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}")


def _tokenizer(template: str) -> PreTrainedTokenizerFast:
    vocab = {"[UNK]": 0, "<｜end▁of▁sentence｜>": 1}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", eos_token="<｜end▁of▁sentence｜>")
    tok.chat_template = template
    return tok


def test_plain_prompts_are_the_base_model_prompts():
    trace = Trace("t", "p", "What is 2 + 3?", "5", ["2 + 3 = 5", "The answer is 5"], "pol")
    request = rollout_request(trace, 0, 4, 0, LabelConfig(), make_prompter(LabelConfig(), None))
    assert request.prompt == build_prompt(trace.question, trace.steps[:1]) and request.add_special_tokens
    assert request.stop == ()
    assert Prompter.plain().question_prompt("Q") == "Q\n"


def test_a_prefix_inside_the_thinking_part_continues_inside_it():
    tok = _tokenizer(R1_TEMPLATE)
    prompter = Prompter.build("chat", tok, "r1-like")
    text = "<think>\nAdd 2 and 3.\n\nThat is 5.\n</think>\n\nThe answer is \\boxed{5}."
    steps, delimiters = prompter.steps_of(text)
    assert steps == ["Add 2 and 3.", "That is 5.", "The answer is \\boxed{5}."]
    assert prompter.solution(steps, delimiters) == text
    inside = prompter.prefix_prompt("What is 2 + 3?", steps[:2], delimiters)
    assert inside.endswith("That is 5.\n") and "</think>" not in inside and inside.count("<think>") == 1
    after = prompter.prefix_prompt("What is 2 + 3?", steps[:3], delimiters)
    assert "</think>" in after and after.endswith("\\boxed{5}.")
    assert prompter.char_steps(text)[text.index("That")] == 1


def test_the_format_travels_as_provenance_and_comes_back():
    tok = _tokenizer(R1_TEMPLATE)
    prompter = Prompter.build("auto", tok, "r1-like", min_step_chars=5, max_steps=3)
    again = prompter_from_provenance(prompter.provenance(), tok)
    assert again.describe() == prompter.describe() and again.fmt.kind == "chat"
    # no record: auto, as on the CLI (chat with a template, plain without)
    assert prompter_from_provenance("", tok).fmt.kind == "chat"
    assert prompter_from_provenance("", tok).step_style.value == "paragraph"
    assert prompter_from_provenance("", None).fmt.kind == "plain"
    assert json.loads(prompter.provenance())["step_style"] == "paragraph"


def test_bad_input_names_the_field(tmp_path):
    from data.errors import RecordError
    from data.trace_io import load_traces
    from pipelines.cli.main import build_parser

    row = {"trace_id": "t1", "problem_id": "p", "question": "q", "gold_answer": "5", "steps": ["a", "b"],
           "step_delimiters": ["", "\n\n"]}
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(RecordError, match="step_delimiters"):
        load_traces(path)
    path.write_text(json.dumps({**row, "step_delimiters": ["", "\n\n", ""], "solution": "a\nb"}) + "\n")
    with pytest.raises(RecordError, match="re-join"):
        load_traces(path)
    with pytest.raises(ValueError, match="field kind"):
        Prompter.build("html", None)
    with pytest.raises(ValueError, match="no chat template.*--prompt-format"):
        Prompter.build("chat", _tokenizer(""), "tiny")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--problems", "p", "--out", "o", "--prompt-format", "html"])

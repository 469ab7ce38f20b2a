"""Prompt formats against the tokenizer's own chat template, with tokenizers built in memory."""
import random

import pytest

from data.prompt_format import (DEFAULT_INSTRUCTION, PromptFormat, assistant_prefix, assistant_text, build_prompt,
                                chat_messages, end_of_turn_stops, end_of_turn_token_ids, render_prompt,
                                render_prompt_text, resolve_format, solution_text)
from labelers.step_split import split_trace

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
          "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
          "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
# An R1-distilled template: the generation prompt opens the thinking, and an assistant message loses the
# thinking before its </think>.
R1 = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<|User|>{{ m['content'] }}"
      "{% elif m['role'] == 'assistant' %}{% set c = m['content'] %}{% if '</think>' in c %}"
      "{% set c = c.split('</think>')[-1] %}{% endif %}<|Assistant|>{{ c }}<|end_of_sentence|>{% endif %}"
      "{% endfor %}{% if add_generation_prompt %}<|Assistant|><think>\n{% endif %}")
# A Qwen3-style template: the last assistant message gets an empty thinking block before its content.
QWEN3 = ("{% for m in messages %}{% if m['role'] == 'assistant' and loop.last %}"
         "<|im_start|>assistant\n<think>\n\n</think>\n\n{{ m['content'] }}<|im_end|>\n"
         "{% else %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIALS = {"chatml": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                       "<|eot_id|>"],
            "r1": ["<|begin_of_sentence|>", "<|end_of_sentence|>", "<|User|>", "<|Assistant|>"],
            "qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            "base": ["<|endoftext|>"]}


def make_tokenizer(kind: str):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = "what is 2 + 3 ? add the numbers 5 so x = 7 answer boxed".split()
    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens(SPECIALS[kind])
    options = {"chatml": dict(chat_template=CHATML, eos_token="<|endoftext|>"),
               "llama3": dict(chat_template=LLAMA3, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>"),
               "r1": dict(chat_template=R1, bos_token="<|begin_of_sentence|>", eos_token="<|end_of_sentence|>"),
               "qwen3": dict(chat_template=QWEN3, eos_token="<|im_end|>"),
               "base": dict(eos_token="<|endoftext|>")}[kind]
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", **options)


@pytest.fixture(scope="module", params=["chatml", "llama3"])
def chat_tok(request):
    return make_tokenizer(request.param)


QUESTION = "  What is 2 + 3?\n"
STEPS = ["Add the numbers: 2 + 3 = 5.", "So x = 5.", "The answer is \\boxed{5}."]
FORMATS = [PromptFormat("chat"), PromptFormat("chat", system_prompt="You are a careful solver."),
           PromptFormat("auto", instruction=None), PromptFormat("chat", instruction="Answer in \\boxed{}.")]


def template(tok, messages, **kw):
    return tok.apply_chat_template(messages, tokenize=False, **kw)


@pytest.mark.parametrize("fmt", FORMATS)
def test_chat_prompt_is_the_templates_own_rendering(chat_tok, fmt):
    resolved = resolve_format(fmt, chat_tok, "test-model")
    generation = template(chat_tok, chat_messages(resolved, QUESTION), add_generation_prompt=True)
    assert render_prompt(fmt, chat_tok, QUESTION, [], "\n\n") == generation
    for delimiter in ("\n\n", "\n"):
        for k in range(1, len(STEPS) + 1):
            prompt = render_prompt(fmt, chat_tok, QUESTION, STEPS[:k], delimiter)
            own = template(chat_tok, chat_messages(resolved, QUESTION, solution_text(STEPS[:k], delimiter)),
                           continue_final_message=True)
            assert prompt == own + delimiter
            assert prompt.endswith(assistant_prefix(STEPS[:k], delimiter))  # ends where the next step starts
            assert prompt.startswith(generation)


def test_chatml_keeps_trailing_whitespace_and_llama3_trims_it():
    chatml, llama3 = make_tokenizer("chatml"), make_tokenizer("llama3")
    fmt = PromptFormat("chat")
    for tok, kept in ((chatml, True), (llama3, False)):
        prefix = assistant_prefix(STEPS[:2], "\n\n")
        own_full = template(tok, chat_messages(fmt, QUESTION, prefix), continue_final_message=True)
        assert own_full.endswith("\n\n") == kept
        assert render_prompt(fmt, tok, QUESTION, STEPS[:2], "\n\n") == (own_full if kept else own_full + "\n\n")


def test_chat_messages_hold_system_question_and_instruction():
    fmt = PromptFormat("chat", system_prompt="Be careful.")
    prompt = render_prompt(fmt, make_tokenizer("chatml"), QUESTION, STEPS[:1], "\n\n")
    assert prompt == ("<|im_start|>system\nBe careful.<|im_end|>\n"
                      f"<|im_start|>user\nWhat is 2 + 3?\n\n{DEFAULT_INSTRUCTION}<|im_end|>\n"
                      "<|im_start|>assistant\nAdd the numbers: 2 + 3 = 5.\n\n")
    prompt = render_prompt(PromptFormat("chat", instruction=None), make_tokenizer("llama3"), QUESTION, [], "\n")
    assert prompt == ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 3?<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_a_rollout_continues_the_assistant_turn(chat_tok):
    stops = end_of_turn_stops(chat_tok)
    fmt = PromptFormat("chat")
    generation = render_prompt(fmt, chat_tok, QUESTION, [])
    for k in range(1, len(STEPS) + 1):
        prompt = render_prompt(fmt, chat_tok, QUESTION, STEPS[:k], "\n\n")
        continued = prompt[len(generation):]
        assert continued == assistant_prefix(STEPS[:k], "\n\n")
        assert not any(stop in continued for stop in stops)  # no end of turn before the continuation
        assert prompt.count("assistant") == 1  # and no new turn


def test_end_of_turn_stops_and_ids():
    chatml, llama3, r1 = make_tokenizer("chatml"), make_tokenizer("llama3"), make_tokenizer("r1")
    assert end_of_turn_stops(chatml) == ["<|endoftext|>", "<|im_end|>"]
    assert end_of_turn_stops(llama3) == ["<|end_of_text|>", "<|eot_id|>"]
    assert end_of_turn_stops(r1) == ["<|end_of_sentence|>"]
    assert end_of_turn_stops(make_tokenizer("base")) == ["<|endoftext|>"]
    for tok in (chatml, llama3, r1):
        ids = end_of_turn_token_ids(tok)
        assert ids == [tok.convert_tokens_to_ids(s) for s in end_of_turn_stops(tok)]


def test_auto_resolution_and_errors():
    chatml, base = make_tokenizer("chatml"), make_tokenizer("base")
    assert resolve_format("auto", chatml, "m").kind == "chat"
    assert resolve_format(PromptFormat(), base, "m") == PromptFormat("plain", None, None)
    assert resolve_format(PromptFormat("plain"), chatml, "m") == PromptFormat("plain", None, None)
    with pytest.raises(ValueError, match="my/base-model.*--prompt-format"):
        resolve_format("chat", base, "my/base-model")
    with pytest.raises(ValueError, match="my/base-model.*--prompt-format"):
        render_prompt("chat", base, QUESTION, STEPS[:1], model_name="my/base-model")
    with pytest.raises(ValueError, match="field kind.*'html'"):
        resolve_format("html", chatml, "m")
    with pytest.raises(ValueError, match="field kind"):
        PromptFormat.from_dict({"kind": "Chat"})
    with pytest.raises(ValueError, match="field instruction"):
        resolve_format(PromptFormat("auto", instruction="Think."), base, "m")
    with pytest.raises(ValueError, match="field system_prompt"):
        PromptFormat("chat", system_prompt=3)


def test_to_dict_round_trips():
    for fmt in FORMATS + [PromptFormat("plain", None, None)]:
        assert PromptFormat.from_dict(fmt.to_dict()) == fmt
    assert PromptFormat.from_dict({"kind": "chat"}) == PromptFormat("chat")


def test_plain_is_todays_prompt_exactly():
    rng = random.Random(0)
    base, chatml = make_tokenizer("base"), make_tokenizer("chatml")
    for _ in range(200):
        steps = [" ".join(rng.choice(["a", "=", "3", "\\boxed{4}"]) for _ in range(rng.randint(1, 5)))
                 for _ in range(rng.randint(0, 4))]
        delimiter = rng.choice(["\n", "\n\n"])
        expected = build_prompt(QUESTION, steps, delimiter)
        assert render_prompt("plain", None, QUESTION, steps, delimiter) == expected
        assert render_prompt("plain", chatml, QUESTION, steps, delimiter) == expected
        assert render_prompt("auto", base, QUESTION, steps, delimiter) == expected
        assert render_prompt_text("plain", None, QUESTION, assistant_prefix(steps, delimiter)) == expected


@pytest.mark.parametrize("opener", [True, False])
def test_think_trace_prefixes_continue_inside_the_thinking(chat_tok, opener):
    rng = random.Random(1)
    paragraphs = [" ".join(rng.choice(["so", "x", "=", "7", "wait", "check"]) for _ in range(rng.randint(1, 9)))
                  for _ in range(120)]
    text = ("<think>\n" if opener else "") + "\n\n".join(paragraphs) + "\n</think>\n\nThe answer is \\boxed{7}."
    trace = split_trace(text, min_step_chars=12, max_steps=10)
    fmt = resolve_format("auto", chat_tok, "m")
    for k in range(trace.n_thinking + 1):
        prefix = trace.prefix(k)
        prompt = render_prompt_text(fmt, chat_tok, QUESTION, prefix)
        body = prefix.rstrip()
        if body:
            own = template(chat_tok, chat_messages(fmt, QUESTION, body), continue_final_message=True)
            assert prompt == own + prefix[len(body):]
        assert prompt.endswith(prefix) and "</think>" not in prompt


def test_r1_template_continues_its_generation_prompt():
    r1 = make_tokenizer("r1")
    fmt = resolve_format("auto", r1, "r1-distill")
    generation = render_prompt(fmt, r1, QUESTION, [])
    assert generation.endswith("<|Assistant|><think>\n")
    sampled = "Let x = 7.\n\nCheck: 7.\n</think>\n\nThe answer is \\boxed{7}.<|end_of_sentence|>"
    completion = assistant_text("", sampled, end_of_turn_stops(r1))
    trace = split_trace(completion)
    assert trace.steps == ("Let x = 7.", "Check: 7.", "The answer is \\boxed{7}.")
    for k in range(len(trace.steps) + 1):
        assert render_prompt_text(fmt, r1, QUESTION, trace.prefix(k)) == generation + trace.prefix(k)
    with_opener = split_trace("<think>\n" + completion)
    assert render_prompt_text(fmt, r1, QUESTION, with_opener.prefix(1)) == generation + "Let x = 7.\n\n"


def test_a_sampled_completion_maps_back_to_steps(chat_tok):
    fmt = resolve_format("auto", chat_tok, "m")
    stops = end_of_turn_stops(chat_tok)
    trace = split_trace("<think>\nAdd 2 and 3.\n\nThat is 5.\n</think>\n\n\\boxed{5}")
    prefix = trace.prefix(1)
    prompt = render_prompt_text(fmt, chat_tok, QUESTION, prefix)
    completion = "That is 5, so x = 5.\n</think>\n\nThe answer is \\boxed{5}." + stops[-1] + "\n"
    whole = assistant_text(prefix, completion, stops)
    rolled = split_trace(whole)
    assert rolled.steps[:1] == trace.steps[:1] and rolled.steps[-1] == "The answer is \\boxed{5}."
    assert rolled.join() == whole and prompt.endswith(prefix)


def test_qwen3_style_template_does_not_insert_an_empty_thinking_block():
    qwen3 = make_tokenizer("qwen3")
    fmt = resolve_format("auto", qwen3, "qwen3-like")
    generation = render_prompt(fmt, qwen3, QUESTION, [])
    assert generation.endswith("<|im_start|>assistant\n")
    trace = split_trace("<think>\nLet x = 7.\n\nCheck: 7.\n</think>\n\nThe answer is \\boxed{7}.")
    own = template(qwen3, chat_messages(fmt, QUESTION, trace.prefix(1).rstrip()), continue_final_message=True)
    assert own.count("<think>") == 2  # what continue_final_message alone would give
    for k in range(len(trace.steps) + 1):
        prompt = render_prompt_text(fmt, qwen3, QUESTION, trace.prefix(k))
        assert prompt == generation + trace.prefix(k)
    assert end_of_turn_stops(qwen3) == ["<|im_end|>"]

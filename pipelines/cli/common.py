"""What several commands share: the engine options, building the engine, and loading problems."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from data.assets import default_policy_path
from data.prompt_format import DEFAULT_INSTRUCTION, FORMAT_KINDS

STEP_STYLES = ("newline", "paragraph", "step_marker")


def add_engine_args(p: argparse.ArgumentParser, default: str = "vllm", split_options: bool = True) -> None:
    p.add_argument("--engine", choices=["vllm", "hf", "openai"], default=default)
    p.add_argument("--policy", default=str(default_policy_path()),
                   help="HF checkpoint of the policy (default: the embedded tiny policy)")
    p.add_argument("--base-url", default=None, help="openai engine: server URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--served-model", default=None, help="openai engine: model name on the server")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm engine on GPU")
    p.add_argument("--max-model-len", type=int, default=512,
                   help="vllm engine: context length (the tiny policy has 512; real models want 1024 or more)")
    p.add_argument("--kv-cache-bytes", type=int, default=512 << 20, help="vllm engine on CPU: KV cache size")
    p.add_argument("--tokenizer", default=None,
                   help="openai engine: a local copy of the served model's tokenizer, to render chat prompts")
    add_prompt_args(p, split_options)


def add_prompt_args(p: argparse.ArgumentParser, split_options: bool = True) -> None:
    """How the policy is prompted and how its solutions split into steps (docs/real_models.md)."""
    p.add_argument("--prompt-format", choices=FORMAT_KINDS, default="auto",
                   help="chat: the policy tokenizer's chat template, the solution so far continued as the "
                        "assistant's turn; plain: question + newline + steps (base models); auto (default): chat "
                        "when the tokenizer has a chat template, else plain")
    p.add_argument("--system-prompt", default=None, help="chat: a system message")
    p.add_argument("--instruction", default=DEFAULT_INSTRUCTION,
                   help="chat: appended to the question in the user turn ('' for none)")
    p.add_argument("--step-style", choices=STEP_STYLES, default=None,
                   help="how solutions split into steps (default: paragraph for chat, newline for plain)")
    if split_options:
        p.add_argument("--min-step-chars", dest="split_min_step_chars", type=int, default=0,
                       help="steps shorter than this merge into a neighbour (long chains of thought)")
        p.add_argument("--max-steps", dest="split_max_steps", type=int, default=None,
                       help="neighbouring steps merge evenly so that a solution has at most this many "
                            "(R1-style traces have hundreds of paragraphs)")


PRM_FORMATS = ("math-shepherd", "qwen-prm")  # prm_training.byo_prm.PRM_FORMATS (a test checks)


def add_prm_format_args(p: argparse.ArgumentParser) -> None:
    """How a third-party PRM checkpoint (no prm_config.json) reads a solution (docs/prm.md)."""
    p.add_argument("--prm-format", choices=PRM_FORMATS, default=None,
                   help="read a PRM checkpoint that was not trained here: math-shepherd (a causal LM scored at a "
                        "step tag by a good and a bad token) or qwen-prm (Qwen2.5-Math-PRM: its chat template, "
                        "<extra_0> after each step, a two-class token head)")
    p.add_argument("--prm-step-tag", default=None,
                   help="math-shepherd: the step tag (default ки); qwen-prm: the separator after each step "
                        "(default <extra_0>)")
    p.add_argument("--prm-good-token", default=None, help="math-shepherd: the token of a good step (default +)")
    p.add_argument("--prm-bad-token", default=None, help="math-shepherd: the token of a bad step (default -)")
    p.add_argument("--prm-system-prompt", default=None,
                   help="qwen-prm: the system message (default: 'Please reason step by step, and put your final "
                        "answer within \\boxed{}.'; '' for none)")


def prm_format_from_args(args):
    """The ``PRMFormat`` of ``--prm-format`` and its options; None without ``--prm-format``."""
    options = {"step_tag": args.prm_step_tag, "good_token": args.prm_good_token, "bad_token": args.prm_bad_token}
    if args.prm_system_prompt is not None:
        options["system_prompt"] = args.prm_system_prompt or None
    if args.prm_format is None:
        given = [k for k, v in options.items() if v is not None]
        if given:
            raise ValueError(f"--prm-{given[0].replace('_', '-')} needs --prm-format")
        return None
    from prm_training.byo_prm import PRMFormat

    return PRMFormat(args.prm_format, **options)


def prm_path_from_args(args, out: str | Path) -> str:
    """``--prm`` as a path every loader takes: with ``--prm-format``, a PRM view (links to the checkpoint's
    files and the format) in ``out/prm_view``, so the run records the format and the checkpoint's hash."""
    fmt = prm_format_from_args(args)
    if fmt is None:
        return args.prm or ""
    if not args.prm or args.prm in ("gold", "mc"):
        raise ValueError(f"--prm-format {fmt.name} needs --prm CHECKPOINT (a third-party PRM directory)")
    from prm_training.byo_prm import write_prm_view

    return str(write_prm_view(args.prm, fmt, Path(out) / "prm_view"))


def prompter_from_args(args, tokenizer, model_name: str | None = None):
    """The run's ``Prompter``: the prompt options resolved against the policy's tokenizer."""
    from data.prompt_format import PromptFormat
    from labelers.prompter import Prompter

    fmt = PromptFormat(args.prompt_format, args.system_prompt, args.instruction or None)
    return Prompter.build(fmt, tokenizer, model_name or policy_name(args), args.step_style,
                          getattr(args, "split_min_step_chars", 0), getattr(args, "split_max_steps", None))


def cli_prompt_format(args) -> dict:
    """The resolved prompt format of a command that takes ``--policy`` (default: the embedded policy)."""
    from transformers import AutoTokenizer

    policy = args.policy or str(default_policy_path())
    return prompter_from_args(args, AutoTokenizer.from_pretrained(policy), Path(policy).name).describe()


def policy_tokenizer(args):
    """The policy's tokenizer (the openai engine's ``--tokenizer``), loaded without the model."""
    from transformers import AutoTokenizer

    path = args.tokenizer if args.engine == "openai" else args.policy
    if not path:
        return None
    return AutoTokenizer.from_pretrained(path)


def engine_kwargs(args) -> dict:
    """Keyword arguments of the engine named on the command line (``openai``: its server)."""
    if args.engine == "openai":
        if not args.base_url:
            raise ValueError("--engine openai needs --base-url")
        return {"base_url": args.base_url, "model": args.served_model, "tokenizer": args.tokenizer}
    if not Path(args.policy).is_dir():
        raise ValueError(f"--policy {args.policy}: no such checkpoint directory")
    kwargs = {"model": str(Path(args.policy).resolve())}
    if args.engine == "vllm":
        kwargs.update(max_model_len=args.max_model_len, kv_cache_memory_bytes=args.kv_cache_bytes)
        if args.tensor_parallel_size > 1:
            kwargs["tensor_parallel_size"] = args.tensor_parallel_size
    else:
        kwargs["max_model_len"] = args.max_model_len
    return kwargs


def build_engine(args):
    from engines import make_engine
    from engines.runtime import configure_runtime

    configure_runtime()
    return make_engine(args.engine, **engine_kwargs(args))


def policy_name(args, engine=None) -> str:
    """The policy's name as records keep it: the served model for the openai engine, else the folder name."""
    if args.engine == "openai":
        return args.served_model or getattr(engine, "model", None) or "served-model"
    return Path(args.policy).name


def add_bad_records_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bad-records", default=None, metavar="JSONL",
                   help="skip problem rows that fail validation and list them in this file (file, record, field, "
                        "error); without it a bad row stops the command")


def load_cli_problems(path: str | None, limit: int | None, default: str = "heldout", bad_records: str | None = None):
    """Problems from ``path`` (JSONL, Parquet, HF dataset; the first ``limit``), or without a path
    ``limit`` synthetic problems of the ``default`` split (``heldout`` or ``train``, disjoint).
    With ``bad_records``, rows that fail validation are skipped and written there as JSON lines."""
    if path:
        from data.loaders import load_problems, write_jsonl_atomic

        if not bad_records:
            return load_problems(path, limit=limit or None)
        skipped: list[dict] = []
        problems = load_problems(path, limit=limit or None, on_bad_record=lambda e: skipped.append(
            {"file": e.path, "record": e.row, "field": e.field, "error": e.message}))
        write_jsonl_atomic(bad_records, skipped)
        if skipped:
            print(f"skipped {len(skipped)} bad problem rows of {path} (listed in {bad_records}); "
                  f"kept {len(problems)}", file=sys.stderr)
        return problems
    if default not in ("heldout", "train"):
        raise ValueError(f"no problems file and no default split {default!r}")
    from data.synthetic import SynthSplit

    return getattr(SynthSplit(), default)(limit)


def print_fields(summary: dict, keys: Sequence[str], out: str | Path | None = None) -> None:
    """The named fields of a summary as JSON, then the output directory."""
    print(json.dumps({k: summary[k] for k in keys if k in summary}, indent=2))
    if out is not None:
        print(f"output directory: {out}")

"""Load any PRM checkpoint as a scorer: the one entry point of search, RL, RFT and evaluation.

A PRM checkpoint trained here is an HF directory plus ``prm_config.json``, whose ``kind`` picks the
class: ``tag`` (``tag_scorer.TagPRMScorer``) or ``likelihood`` (``likelihood_prm.LikelihoodPRMScorer``);
``backend="vllm"`` serves either kind on vLLM (``vllm_scorer``). ``gold`` names the synthetic task's
exact step labels (``oracle_scorer.GoldStepScorer``), a ceiling for experiments.

A third-party checkpoint (no ``prm_config.json``) loads with ``prm_format`` (``byo_prm.PRMFormat``:
``math-shepherd`` or ``qwen-prm``) on either backend, and so does a PRM view (``byo_prm.write_prm_view``),
whose ``prm_config.json`` holds the format.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from prm_training.byo_prm import MathShepherdPrompter, PRMFormat, as_format, math_shepherd_config, view_format
from prm_training.prm_format import PRM_CONFIG_NAME, PRMConfig
from prm_training.scoring import PRMScorer

BACKENDS = ("hf", "vllm")
GOLD = "gold"


def load_prm(path: str | Path, backend: str = "hf", threads: int | None = None, batch_size: int = 32,
             prm_format: PRMFormat | str | dict | None = None, max_length: int | None = None) -> PRMScorer:
    """The scorer of the PRM checkpoint at ``path`` on ``backend`` (``hf`` or ``vllm``); ``prm_format`` reads
    a third-party checkpoint; ``max_length`` caps the context of a tag or third-party PRM (default: the
    model's; a likelihood PRM keeps its ``prm_config.json`` ``max_length``)."""
    if backend not in BACKENDS:
        raise ValueError(f"PRM backend {backend!r}: choose one of {BACKENDS}")
    if threads and backend == "hf":
        import torch

        torch.set_num_threads(threads)
    fmt = as_format(prm_format)
    has_config = (Path(path) / PRM_CONFIG_NAME).exists()
    if fmt is not None and has_config and view_format(path) is None:
        raise ValueError(f"--prm {path}: a PRM trained here ({PRM_CONFIG_NAME}); leave out --prm-format")
    fmt = fmt or view_format(path)
    if fmt is not None:
        return load_byo_prm(path, fmt, backend, batch_size, max_length)
    if not has_config:
        raise ValueError(f"--prm {path}: not a PRM checkpoint (no {PRM_CONFIG_NAME}); train one with train-prm, "
                         "or name a third-party PRM's format with --prm-format math-shepherd|qwen-prm")
    config = PRMConfig.load(path)
    if backend == "vllm":
        from prm_training.vllm_scorer import VLLMLikelihoodPRMScorer, VLLMPRMScorer

        if config.kind == "likelihood":
            return VLLMLikelihoodPRMScorer.from_pretrained(path)
        return VLLMPRMScorer.from_pretrained(path, max_model_len=max_length)
    if config.kind == "likelihood":
        from prm_training.likelihood_prm import LikelihoodPRMScorer

        return LikelihoodPRMScorer.from_pretrained(path, batch_size=batch_size, config=config)
    from prm_training.tag_scorer import TagPRMScorer

    return TagPRMScorer.from_pretrained(path, batch_size=batch_size, config=config, max_length=max_length)


def load_byo_prm(path: str | Path, fmt: PRMFormat, backend: str = "hf", batch_size: int = 8,
                 max_length: int | None = None, **vllm_options: Any) -> PRMScorer:
    """The scorer of a third-party checkpoint read in ``fmt`` on ``backend`` (``hf`` or ``vllm``)."""
    if not (Path(path) / "config.json").exists():
        raise ValueError(f"--prm {path}: not an HF checkpoint directory (no config.json)")
    if fmt.name == "qwen-prm":
        if backend == "vllm":
            from prm_training.vllm_scorer import VLLMQwenPRMScorer

            return VLLMQwenPRMScorer.from_pretrained(path, fmt, max_model_len=max_length, **vllm_options)
        from prm_training.qwen_prm import QwenPRMScorer

        return QwenPRMScorer.from_pretrained(path, fmt, batch_size=batch_size, max_length=max_length)
    from transformers import AutoTokenizer

    config = math_shepherd_config(path, AutoTokenizer.from_pretrained(str(path)), fmt, max_length)
    if backend == "vllm":
        from prm_training.vllm_scorer import VLLMPRMScorer

        return VLLMPRMScorer.from_pretrained(path, config=config, prompter=MathShepherdPrompter(), **vllm_options)
    from prm_training.prm_model import load_causal_lm
    from prm_training.tag_scorer import TagPRMScorer

    model, tokenizer = load_causal_lm(path)
    return TagPRMScorer(model, tokenizer, config, batch_size=batch_size, max_length=config.max_length,
                        prompter=MathShepherdPrompter())


def load_scorer(path: str | None, backend: str = "hf", threads: int | None = None, problems: Sequence = (),
                prm_format: PRMFormat | str | dict | None = None) -> PRMScorer | None:
    """The PRM named on the command line: a checkpoint, ``gold`` (needs ``problems``), or None for no PRM."""
    if not path:
        return None
    if path == GOLD:
        if prm_format is not None:
            raise ValueError("--prm gold is the synthetic task's exact labels; it takes no --prm-format")
        from prm_training.oracle_scorer import GoldStepScorer

        return GoldStepScorer(problems)
    return load_prm(path, backend, threads, prm_format=prm_format)

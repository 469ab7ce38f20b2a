"""Load any PRM checkpoint as a scorer: the one entry point of search, RL, RFT and evaluation.

A PRM checkpoint is an HF directory plus ``prm_config.json``, whose ``kind`` picks the class:
``tag`` (``tag_scorer.TagPRMScorer``) or ``likelihood`` (``likelihood_prm.LikelihoodPRMScorer``);
``backend="vllm"`` serves either kind on vLLM (``vllm_scorer``). ``gold`` names the synthetic
task's exact step labels (``oracle_scorer.GoldStepScorer``), a ceiling for experiments.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from prm_training.prm_format import PRM_CONFIG_NAME, PRMConfig
from prm_training.scoring import PRMScorer

BACKENDS = ("hf", "vllm")
GOLD = "gold"


def load_prm(path: str | Path, backend: str = "hf", threads: int | None = None, batch_size: int = 32) -> PRMScorer:
    """The scorer of the PRM checkpoint at ``path`` on ``backend`` (``hf`` or ``vllm``)."""
    if backend not in BACKENDS:
        raise ValueError(f"PRM backend {backend!r}: choose one of {BACKENDS}")
    if not (Path(path) / PRM_CONFIG_NAME).exists():
        raise ValueError(f"--prm {path}: not a PRM checkpoint (no {PRM_CONFIG_NAME}); train one with train-prm")
    config = PRMConfig.load(path)
    if backend == "vllm":
        from prm_training.vllm_scorer import VLLMLikelihoodPRMScorer, VLLMPRMScorer

        cls = VLLMLikelihoodPRMScorer if config.kind == "likelihood" else VLLMPRMScorer
        return cls.from_pretrained(path)
    if threads:
        import torch

        torch.set_num_threads(threads)
    if config.kind == "likelihood":
        from prm_training.likelihood_prm import LikelihoodPRMScorer

        return LikelihoodPRMScorer.from_pretrained(path, batch_size=batch_size, config=config)
    from prm_training.tag_scorer import TagPRMScorer

    return TagPRMScorer.from_pretrained(path, batch_size=batch_size, config=config)


def load_scorer(path: str | None, backend: str = "hf", threads: int | None = None,
                problems: Sequence = ()) -> PRMScorer | None:
    """The PRM named on the command line: a checkpoint, ``gold`` (needs ``problems``), or None for no PRM."""
    if not path:
        return None
    if path == GOLD:
        from prm_training.oracle_scorer import GoldStepScorer

        return GoldStepScorer(problems)
    return load_prm(path, backend, threads)

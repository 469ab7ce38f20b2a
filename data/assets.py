"""Paths of the assets shipped inside the package.

>>> default_policy_path().name
'tiny_policy'
>>> plain_policy_path().name
'tiny_policy_plain'
"""
from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def default_policy_path() -> Path:
    """The embedded tiny policy: a Llama HF chat model (ChatML turns) trained on the synthetic task."""
    return ASSETS_DIR / "tiny_policy"


def plain_policy_path() -> Path:
    """The same task without a chat template (``question\\n``, one equation per line), for the ``plain`` format."""
    return ASSETS_DIR / "tiny_policy_plain"

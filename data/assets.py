"""Paths of the assets shipped inside the package.

>>> default_policy_path().name
'tiny_policy'
"""
from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def default_policy_path() -> Path:
    """The embedded tiny policy: a Llama HF checkpoint trained on the synthetic task."""
    return ASSETS_DIR / "tiny_policy"

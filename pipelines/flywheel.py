"""``prm-factory flywheel``: generate -> label -> train PRM -> search -> RL -> new policy, repeated.

Round ``r`` lives in ``OUT/round-r/`` (its own ``manifest.json``):
``problems.jsonl`` (fresh training-split problems), ``generate/`` (traces of the round's policy),
``label/`` (Monte Carlo step labels and their report), ``prm/`` (the PRM) and ``prm_eval/``,
``search/`` (majority vs PRM best-of-N / weighted-SC on held-out problems), and ``rl/`` (the RL run;
``rl/policy`` is the next round's policy, named relative to ``OUT`` in ``round.json``). Every stage resumes, so rerunning the same command
after a crash finishes the job. ``OUT/flywheel.json`` and ``OUT/flywheel.md`` tabulate the rounds.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data.synthetic import SynthSplit


@dataclass
class FlywheelConfig:
    rounds: int = 1
    policy: str = ""  # "" = the embedded tiny policy
    engine: str = "vllm"
    label_problems: int = 200  # fresh training-split problems labeled per round
    samples: int = 4  # traces per problem
    strategy: str = "binary"
    rollouts: int = 8
    prm_kind: str = "likelihood"  # "likelihood" (prm_training.likelihood_prm) or "tag" (Math-Shepherd head)
    prm_epochs: int = 3  # tag PRM only
    prm_label_type: str = "soft"  # soft won for the likelihood PRM (first-error F1 0.80 vs 0.55); hard for tag
    prm_lr: float = 1e-3
    search_problems: int = 100  # held-out problems for majority vs PRM search
    search_n: int = 16
    rl_problems: int = 256  # training-split problems the RL loop draws from per round
    rl_iterations: int = 10
    rl_group_size: int = 8
    rl_problems_per_iteration: int = 16
    rl_lr: float = 1e-4
    rl_kl_coef: float = 0.02
    rl_temperature: float = 0.7  # the best process-RL setting measured (docs/rl.md)
    rl_ppo_epochs: int = 1
    rl_reward: str = "process"
    policy_step: str = "rl"  # "rl" (PPO, process rewards) or "rft" (rejection-sampling fine-tuning, PRM-vetted)
    rft_samples: int = 4  # rft: solutions sampled per rl_problems problem
    rft_steps: int = 500  # rft: fine-tuning steps per round
    rft_vet: bool = False  # rft: keep only samples the round's PRM scores >= 0.5 at every step (hurt; docs/rl.md)
    heldout_n: int = 100  # held-out problems for the policy's greedy accuracy
    prompt_format: str = "auto"  # how every stage prompts the policy (labelers.prompter): auto, chat or plain
    threads: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.rounds < 1:
            raise ValueError(f"FlywheelConfig.rounds must be >= 1, got {self.rounds}")
        if self.strategy not in ("full", "binary", "adaptive"):
            raise ValueError(f"FlywheelConfig.strategy: unknown {self.strategy!r}")
        if self.prm_kind not in ("likelihood", "tag"):
            raise ValueError(f"FlywheelConfig.prm_kind: unknown {self.prm_kind!r}; choose likelihood or tag")
        if self.policy_step not in ("rl", "rft"):
            raise ValueError(f"FlywheelConfig.policy_step: unknown {self.policy_step!r}; choose rl or rft")
        if self.label_problems < 4 or self.rl_problems < 1:
            raise ValueError("FlywheelConfig: label_problems must be >= 4 and rl_problems >= 1")
        if not self.policy:
            from data.assets import default_policy_path

            self.policy = str(default_policy_path())


def round_problems(cfg: FlywheelConfig, round_index: int) -> tuple[list, list]:
    """(label problems, RL problems) of a round: disjoint slices of the training split, never held-out.

    >>> a, b = round_problems(FlywheelConfig(label_problems=4, rl_problems=3), 0)
    >>> len(a), len(b), len({p.problem_id for p in a + b})
    (4, 3, 7)
    """
    per_round = cfg.label_problems + cfg.rl_problems
    pool = SynthSplit().train(per_round * (round_index + 1))
    chunk = pool[per_round * round_index:]
    return chunk[:cfg.label_problems], chunk[cfg.label_problems:]


def _stage(name: str, round_index: int, rounds: int) -> None:
    print(f"[round {round_index + 1}/{rounds}] {name}", flush=True)


def run_round(cfg: FlywheelConfig, round_index: int, policy: str, out: Path) -> dict[str, Any]:
    """One turn of the flywheel from ``policy``; returns the round's figures."""
    from data.loaders import write_problems_jsonl
    from data.provenance import portable_path
    from engines import make_engine
    from pipelines.run_dir import ensure_manifest

    out.mkdir(parents=True, exist_ok=True)
    ensure_manifest(out, {"stage": "flywheel-round", "round": round_index,
                          "policy": portable_path(policy, relative_to=out.parent),
                          "config": {**asdict(cfg), "policy": portable_path(cfg.policy)}})
    if (out / "round.json").exists():
        return json.loads((out / "round.json").read_text())
    say = lambda name: _stage(name, round_index, cfg.rounds)  # noqa: E731
    started = time.time()
    timings: dict[str, float] = {}
    label_problems, rl_problems = round_problems(cfg, round_index)
    write_problems_jsonl(out / "problems.jsonl", label_problems)
    policy = str(Path(policy).resolve())

    t0 = time.time()
    say(f"generate {cfg.samples} traces x {len(label_problems)} problems")
    engine = make_engine(cfg.engine, model=policy)  # reused by the search stage
    from labelers.prompter import Prompter
    from pipelines.generate import GenerateConfig, generate_traces

    prompter = Prompter.build(cfg.prompt_format, engine.tokenizer, Path(policy).name)
    fmt = prompter.describe()
    generate_traces(engine, label_problems, out / "generate", Path(policy).name,
                    GenerateConfig(samples=cfg.samples, seed=cfg.seed + round_index, prompt_format=fmt,
                                   step_style=prompter.step_style.value), prompter=prompter)
    timings["generate_s"] = time.time() - t0
    t0 = time.time()
    say(f"label ({cfg.strategy}, N={cfg.rollouts})")
    label_stats = _label_stage(cfg, round_index, policy, out, fmt)
    timings["label_s"] = time.time() - t0
    t0 = time.time()
    say(f"train PRM ({cfg.prm_kind}, {cfg.prm_label_type} labels)")
    prm_metrics = _prm_stage(cfg, policy, out)
    timings["prm_s"] = time.time() - t0
    t0 = time.time()
    say(f"search: majority vs PRM best-of-N on {cfg.search_problems} held-out problems")
    sweep = _search_stage(cfg, engine, out, fmt)
    del engine
    timings["search_s"] = time.time() - t0
    t0 = time.time()
    step = _policy_stage(cfg, policy, rl_problems, out, say, fmt)
    timings["policy_step_s"] = time.time() - t0
    figures = _round_figures(cfg, round_index, policy, label_stats, prm_metrics, sweep, step)
    figures.update(timings_s={k: round(v, 1) for k, v in timings.items()}, wall_s=round(time.time() - started, 1))
    (out / "round.json").write_text(json.dumps(figures, indent=2))
    return figures


def _label_stage(cfg: FlywheelConfig, round_index: int, policy: str, out: Path, fmt: dict) -> dict:
    from engines.ray_pool import PoolConfig
    from labelers.rounds import LabelConfig
    from pipelines.label_run import LabelRunConfig, run_label
    from pipelines.report import write_label_report

    stats = run_label(LabelRunConfig(
        traces=str(out / "generate" / "traces"), out=str(out / "label"),
        label=LabelConfig(strategy=cfg.strategy, rollouts=cfg.rollouts, seed=cfg.seed + round_index,
                          prompt_format=fmt, step_style=fmt["step_style"]),
        engine=cfg.engine, engine_kwargs={"model": policy}, pool=PoolConfig(actors=1)))
    write_label_report(out / "label")
    return stats


def _prm_stage(cfg: FlywheelConfig, policy: str, out: Path) -> dict:
    """Fit the round's PRM on its labels (resumable) and evaluate it on the held-out problems."""
    from prm_training.likelihood_prm import fit_likelihood_prm
    from prm_training.prm_eval import evaluate_prm
    from prm_training.prm_trainer import PRMTrainConfig, train_prm

    if cfg.prm_kind == "tag":
        train_prm(out / "label", out / "prm", PRMTrainConfig(
            base_model=policy, label_type=cfg.prm_label_type, epochs=cfg.prm_epochs,
            lr=cfg.prm_lr, seed=cfg.seed, num_threads=cfg.threads), progress=False)
    elif not (out / "prm" / "prm_config.json").exists():
        fit_likelihood_prm(out / "label", out / "prm", base_model=policy, label_type=cfg.prm_label_type,
                           threads=cfg.threads)
    metrics_path = out / "prm_eval" / "metrics.json"
    if metrics_path.exists():
        return json.loads(metrics_path.read_text())
    return evaluate_prm(out / "prm", out / "label", out / "prm_eval", split="val", threads=cfg.threads)


def _search_stage(cfg: FlywheelConfig, engine, out: Path, fmt: dict) -> dict:
    from pipelines.search_run import sweep_to_dir
    from prm_training.load import load_prm
    from search.config import SearchConfig
    from search.sweep import SweepConfig, powers_of_two

    sweep_path = out / "search" / "sweep.json"
    if sweep_path.exists():
        return json.loads(sweep_path.read_text())
    sweep_cfg = SweepConfig(ns=powers_of_two(cfg.search_n), methods=("majority", "best-of-n", "weighted-sc"),
                            step_ns=(), search=SearchConfig(seed=cfg.seed, prompt_format=fmt))
    return sweep_to_dir(engine, SynthSplit().heldout(cfg.search_problems), sweep_cfg, out / "search",
                        load_prm(out / "prm", threads=cfg.threads), progress=False)


def _policy_stage(cfg: FlywheelConfig, policy: str, rl_problems: list, out: Path, say, fmt: dict) -> dict:
    """RFT or RL from ``policy``; the summary, with ``next_policy`` the improved checkpoint."""
    prm = str((out / "prm").resolve())
    if cfg.policy_step == "rft":
        from rl.rft import RFTConfig, run_rft

        say(f"RFT (own verified samples{', PRM-vetted' if cfg.rft_vet else ''}, {cfg.rft_steps} steps)")
        summary = run_rft(RFTConfig(
            policy=policy, prm=prm if cfg.rft_vet else "", samples=cfg.rft_samples,
            temperature=cfg.rl_temperature, steps=cfg.rft_steps, seed=cfg.seed, heldout_n=cfg.heldout_n,
            eval_every=cfg.rft_steps, engine=cfg.engine, threads=cfg.threads, prompt_format=fmt), rl_problems,
            out / "rft")
        return {**summary, "next_policy": f"{out.name}/rft/policy"}
    from rl.config import RLConfig
    from rl.trainer import run_rl

    say(f"RL ({cfg.rl_reward} rewards, {cfg.rl_iterations} iterations)")
    summary = run_rl(RLConfig(
        policy=policy, prm=prm, reward=cfg.rl_reward,
        group_size=cfg.rl_group_size, iterations=cfg.rl_iterations,
        problems_per_iteration=cfg.rl_problems_per_iteration, lr=cfg.rl_lr, kl_coef=cfg.rl_kl_coef,
        temperature=cfg.rl_temperature, ppo_epochs=cfg.rl_ppo_epochs, seed=cfg.seed,
        heldout_n=cfg.heldout_n, eval_every=max(1, cfg.rl_iterations), threads=cfg.threads, progress=True,
        prompt_format=fmt),
        rl_problems, out / "rl")
    return {**summary, "next_policy": f"{out.name}/rl/policy"}


def _round_figures(cfg: FlywheelConfig, round_index: int, policy: str, label_stats: dict, prm_metrics: dict,
                   sweep: dict, step: dict) -> dict[str, Any]:
    def at(method: str, n: int) -> float | None:
        return next((p["accuracy"] for p in sweep["points"] if p["method"] == method and p["n"] == n), None)

    return {
        "round": round_index, "policy": Path(policy).name, "traces": label_stats.get("traces"),
        "label_steps": label_stats.get("steps"), "rollouts_per_step": label_stats.get("rollouts_per_step"),
        "label_hard_accuracy": label_stats.get("hard_accuracy"), "label_soft_auc": label_stats.get("soft_auc"),
        "prm_step_auc": prm_metrics.get("step_auc"), "prm_first_error_f1": prm_metrics.get("first_error_f1"),
        "search_n": cfg.search_n, "sample_accuracy": at("majority", 1),
        f"majority@{cfg.search_n}": at("majority", cfg.search_n),
        f"best_of_{cfg.search_n}": at("best-of-n", cfg.search_n),
        f"weighted_sc@{cfg.search_n}": at("weighted-sc", cfg.search_n),
        f"pass@{cfg.search_n}": at("pass@n (oracle)", cfg.search_n),
        "heldout_greedy_before": step["heldout_accuracy_before"],
        "heldout_greedy_after": step["heldout_accuracy_after"],
        "policy_step": cfg.policy_step, "rl_reward_first": step.get("reward_first"),
        "rl_reward_last": step.get("reward"), "rft_kept": step.get("kept"), "next_policy": step["next_policy"],
    }


ROUND_COLUMNS = ["round", "label_hard_accuracy", "label_soft_auc", "prm_step_auc", "sample_accuracy"]


def rounds_table(rounds: list[dict]) -> str:
    """A Markdown table with one row per round.

    >>> print(rounds_table([{"round": 0, "prm_step_auc": 0.7, "search_n": 4, "majority@4": 0.6, "best_of_4": 0.5,
    ...                      "heldout_greedy_before": 0.7, "heldout_greedy_after": 0.75}]).splitlines()[2])
    | 0 | - | - | 0.7 | - | 0.6 | 0.5 | - | 0.7 | 0.75 |
    """
    n = rounds[0].get("search_n", 16) if rounds else 16
    cols = ROUND_COLUMNS + [f"majority@{n}", f"best_of_{n}", f"weighted_sc@{n}", "heldout_greedy_before",
                            "heldout_greedy_after"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rounds:
        lines.append("| " + " | ".join("-" if r.get(c) is None else str(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def run_flywheel(cfg: FlywheelConfig, out_dir: str | Path) -> dict[str, Any]:
    """``cfg.rounds`` rounds, each starting from the previous round's RL policy."""
    from data.provenance import portable_path
    from engines.runtime import configure_runtime

    out = Path(out_dir)
    configure_runtime()
    policy = cfg.policy
    rounds: list[dict] = []
    for r in range(cfg.rounds):
        figures = run_round(cfg, r, policy, out / f"round-{r}")
        rounds.append(figures)
        policy = str(out / figures["next_policy"])  # relative to the flywheel folder
    result = {"rounds": rounds, "config": {**asdict(cfg), "policy": portable_path(cfg.policy)},
              "final_policy": portable_path(policy, relative_to=out)}
    (out / "flywheel.json").write_text(json.dumps(result, indent=2))
    (out / "flywheel.md").write_text(rounds_table(rounds) + "\n")
    return result

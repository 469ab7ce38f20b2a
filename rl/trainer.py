"""``prm-factory rl``: PPO-clip RL of the policy with process rewards from a PRM (or outcome rewards).

One iteration: take ``problems_per_iteration`` training problems, sample ``group_size`` solutions
of each from the policy being trained (batched HF ``generate`` through ``HFEngine.from_model``),
split them into steps (one per line), reward them, turn rewards into per-token advantages
(``rl.policy_gradient``), and take ``ppo_epochs`` passes of PPO-clip + k3 KL to the
frozen starting policy. Log-probabilities are those of the policy at ``temperature`` (logits / T), the
distribution the samples came from; its greedy decoding is the model's.

Rewards:
- ``process``: the PRM's P(good) of every step. A solution that states no final answer, or was cut
  at ``max_tokens``, gets ``no_answer_reward`` (0.0, the lowest P(good)) as its last step's reward,
  and an empty solution gets that single reward. Without this a process reward can be hacked: a short
  solution of one plausible step, or one that never commits to an answer, scores as well as a correct
  one, and the sum-of-later-rewards advantage would then favour stopping early.
- ``outcome``: 1 if the verifier finds the gold answer, else 0, the same advantage on every token.
- ``process`` with ``outcome_weight`` w > 0: the last step's reward also gets ``w * outcome`` (a
  process + outcome mix; the sum-of-later-rewards advantage carries it to every token).

Files in ``out_dir``: ``log.jsonl`` (one line per iteration: reward, KL, loss, train accuracy, and
``heldout_accuracy`` every ``eval_every`` iterations), ``checkpoints/iter-N/`` (weights, optimizer,
RNG, ``state.json`` written last; a rerun of the same command resumes after the last one),
``policy/`` (the final HF checkpoint, for transformers and vLLM) and ``summary.json``.

"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from data.records import Problem
from labelers.prompter import prompter_from_provenance
from rl.checkpoints import STATE, TRAINER, latest_checkpoint, read_log, save_checkpoint
from rl.config import GOLD_PRM, IDENTITY_DEFAULTS, MC_PRM, RLConfig
from rl.policy_eval import check_problems, greedy_accuracy
from rl.ppo import ppo_update
from rl.rollout import assign_rewards, problem_schedule, rollout


def _write_log(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def export_policy(model, policy_src: str, out: Path) -> Path:
    """The trained weights as a standard HF checkpoint (safetensors, config, generation config, tokenizer)."""
    from transformers import AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(policy_src).save_pretrained(out)  # fresh: keeps the source padding side
    return out


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; anything else as given (checked by torch)."""
    from prm_training.devices import resolve_device as resolve

    return resolve(device, "RLConfig.device")


def run_rl(cfg: RLConfig, problems: Sequence[Problem], out_dir: str | Path) -> dict[str, Any]:
    """Train (or resume, or find finished) the RL run in ``out_dir``; returns the summary (also ``summary.json``)."""
    import torch
    from tqdm import tqdm

    from data.synthetic import SynthSplit

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    heldout = SynthSplit().heldout(cfg.heldout_n)
    check_problems(problems, heldout)
    started = time.time()
    resume, state = _resume_state(cfg, out)
    summary_path = out / "summary.json"
    if resume is not None and state["iteration"] >= cfg.iterations and summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("iterations_done") == state["iteration"]:
            return {**summary, "status": "already finished"}

    model, ref_model, tokenizer, optimizer = _load_models(cfg, resume)
    prompter = prompter_from_provenance(cfg.prompt_format, tokenizer)
    scorer = _make_scorer(cfg, problems, model, tokenizer)
    if state["heldout_accuracy_before"] is None:
        from transformers import AutoTokenizer

        state["heldout_accuracy_before"] = greedy_accuracy(ref_model, AutoTokenizer.from_pretrained(cfg.policy),
                                                           heldout, cfg.max_tokens, prompter)
    log_path = out / "log.jsonl"
    log = read_log(log_path, "iteration", state["iteration"])
    _write_log(log_path, log)
    bar = tqdm(total=cfg.iterations, initial=state["iteration"], desc=f"rl ({cfg.reward})", disable=not cfg.progress)
    for it in range(state["iteration"], cfg.iterations):
        line = _iteration(model, ref_model, tokenizer, optimizer, scorer, problems, heldout, cfg, it, prompter)
        log.append(line)
        with log_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        state["iteration"] = it + 1
        if (it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations:
            state["wall_s"] = state.get("wall_s", 0.0) + (time.time() - started)
            started = time.time()
            save_checkpoint(out, "iter", state["iteration"], model,
                            {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                             "python_rng": random.getstate()}, state)
        bar.update(1)
        bar.set_postfix(reward=f"{line['reward']:.3f}", acc=f"{line['train_accuracy']:.2f}", kl=f"{line['kl']:.4f}",
                        **({"heldout": line["heldout_accuracy"]} if "heldout_accuracy" in line else {}))
    bar.close()
    state["wall_s"] = state.get("wall_s", 0.0) + (time.time() - started)
    summary = _summary(cfg, state, log, model, tokenizer, heldout, out, prompter)
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary


def _resume_state(cfg: RLConfig, out: Path) -> tuple[Path | None, dict[str, Any]]:
    """The last complete checkpoint (or None) and the run state; a checkpoint of other settings is refused."""
    resume = latest_checkpoint(out, "iter")
    state: dict[str, Any] = {"iteration": 0, "config": cfg.identity(), "heldout_accuracy_before": None, "wall_s": 0.0}
    if resume is None:
        return None, state
    saved = json.loads((resume / STATE).read_text())
    saved["config"] = {**IDENTITY_DEFAULTS, **saved["config"]}
    identity = cfg.identity()
    if saved["config"] != identity:
        diff = sorted(k for k in identity if saved["config"].get(k) != identity[k])
        raise ValueError(f"{out} holds an RL run with other settings ({', '.join(diff)}); use a new out_dir")
    return resume, saved


def _load_models(cfg: RLConfig, resume: Path | None):
    """The policy (from the checkpoint when resuming), the frozen reference, the tokenizer and the optimizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prm_training.optim import adamw

    tokenizer = AutoTokenizer.from_pretrained(cfg.policy)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = resolve_device(cfg.device)
    model = AutoModelForCausalLM.from_pretrained(str(resume or cfg.policy), dtype=torch.float32).to(device)
    ref_model = AutoModelForCausalLM.from_pretrained(cfg.policy, dtype=torch.float32).to(device).eval()
    for p in ref_model.parameters():
        p.requires_grad_(False)
    model.eval()  # no dropout in the tiny Llama; eval keeps sampling and training passes identical
    optimizer = adamw(model.parameters(), lr=cfg.lr)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    if resume is not None:
        blob = torch.load(resume / TRAINER, weights_only=False, map_location="cpu")
        optimizer.load_state_dict(blob["optimizer"])
        torch.set_rng_state(blob["torch_rng"])
        random.setstate(blob["python_rng"])
    return model, ref_model, tokenizer, optimizer


def _make_scorer(cfg: RLConfig, problems: Sequence[Problem], model, tokenizer):
    """The step reward: the exact synthetic labels, online Monte Carlo labels, or a PRM checkpoint."""
    if cfg.reward != "process":
        return None
    if cfg.prm == GOLD_PRM:
        from prm_training.oracle_scorer import GoldStepScorer

        return GoldStepScorer(problems)
    if cfg.prm == MC_PRM:
        from engines.hf_engine import HFEngine
        from labelers.rounds import LabelConfig
        from rl.mc_reward import MonteCarloStepScorer

        return MonteCarloStepScorer(problems, HFEngine.from_model(model, tokenizer),
                                    LabelConfig(strategy=cfg.mc_strategy, rollouts=cfg.mc_rollouts,
                                                max_tokens=cfg.max_tokens, seed=cfg.seed,
                                                prompt_format=cfg.prompt_format))
    from prm_training.load import load_prm

    return load_prm(cfg.prm, batch_size=cfg.prm_batch_size)


def _iteration(model, ref_model, tokenizer, optimizer, scorer, problems, heldout, cfg: RLConfig, it: int,
               prompter) -> dict:
    """Sample, reward and update once; the iteration's log line."""
    t0 = time.time()
    batch = [problems[i] for i in problem_schedule(len(problems), cfg.problems_per_iteration, it, cfg.seed)]
    samples = rollout(model, tokenizer, batch, cfg, it, prompter)
    t_gen = time.time() - t0
    spent_before = getattr(scorer, "rollouts", 0)
    assign_rewards(samples, batch, cfg, scorer)
    parts = ppo_update(model, ref_model, optimizer, samples, cfg, it, tokenizer.pad_token_id)
    line = {"iteration": it + 1, "reward": _mean([_mean(s.step_rewards) for s in samples]),
            "reward_min_step": _mean([min(s.step_rewards) for s in samples]),
            "train_accuracy": _mean([float(s.correct) for s in samples]),
            "no_answer_fraction": _mean([float(not (s.has_answer and s.finished)) for s in samples]),
            "mean_tokens": _mean([len(s.completion_ids) for s in samples]),
            "mean_steps": _mean([len(s.steps) for s in samples]),
            **{k: round(v, 6) for k, v in parts.items()}, "samples": len(samples),
            "gen_s": round(t_gen, 2), "iter_s": 0.0,
            **({"mc_rollouts": scorer.rollouts - spent_before} if cfg.prm == MC_PRM and scorer is not None else {})}
    if (it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iterations:
        line["heldout_accuracy"] = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens, prompter)
    line["iter_s"] = round(time.time() - t0, 2)
    return {k: round(v, 4) if isinstance(v, float) and k not in parts else v for k, v in line.items()}


def _summary(cfg: RLConfig, state: dict, log: list[dict], model, tokenizer, heldout, out: Path,
             prompter) -> dict[str, Any]:
    """Export the final policy and describe the run (``summary.json``)."""
    from data.provenance import portable_path

    evals = [x for x in log if "heldout_accuracy" in x]
    after = evals[-1]["heldout_accuracy"] if evals and evals[-1]["iteration"] == state["iteration"] else None
    if after is None:
        after = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens, prompter)
    export_policy(model, cfg.policy, out / "policy")
    config = asdict(cfg)
    config.update(policy=portable_path(cfg.policy), prm=portable_path(cfg.prm))
    return {
        "status": "finished", "iterations_done": state["iteration"], "reward_type": cfg.reward,
        "heldout_n": cfg.heldout_n, "heldout_accuracy_before": round(state["heldout_accuracy_before"], 4),
        "heldout_accuracy_after": round(after, 4),
        "reward": log[-1]["reward"] if log else None, "reward_first": log[0]["reward"] if log else None,
        "train_accuracy_first": log[0]["train_accuracy"] if log else None,
        "train_accuracy_last": log[-1]["train_accuracy"] if log else None,
        "samples": sum(x["samples"] for x in log),
        "mc_rollouts": sum(x.get("mc_rollouts", 0) for x in log),
        "heldout_curve": [(x["iteration"], x["heldout_accuracy"]) for x in evals],
        "policy_dir": "policy", "wall_s": round(state["wall_s"], 1), "config": config,
    }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0

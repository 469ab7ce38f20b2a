"""``prm-factory rft``: rejection-sampling fine-tuning (expert iteration) of the policy.

The policy samples ``samples`` solutions of every training problem. A solution is kept when the
verifier accepts its final answer, none of its own equations is false (``verifiers.false_equation``,
as the labeler's arithmetic check), and, with a PRM, its lowest step score is at least
``prm_threshold``. The policy is then fine-tuned on the kept solutions with its own SFT loss
(``policy_sft.weighted_lm_loss``, completion tokens only, AdamW betas (0.9, 0.95)).

Why it exists beside ``prm-factory rl``: on the tiny policy, PPO with group-normalized advantages
gains at most about one standard error before drifting down, while fine-tuning on the policy's own
correct samples gains steadily (docs/rl.md, "Rejection-sampling fine-tuning"). RFT uses only the
positive half of the signal; the negative half of the group-normalized advantages pushes down the
many right tokens of wrong samples.

Run directory ``OUT``: ``kept.json`` (written once, atomically, after sampling: the counts and the
selected solutions), ``checkpoints/step-N/`` (weights, optimizer, generator state,
``state.json`` last), ``log.jsonl`` (loss and held-out greedy accuracy every ``eval_every`` steps),
``policy/`` (the final HF checkpoint) and ``summary.json``. Rerunning the same command resumes;
other settings in the same ``OUT`` are refused.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from data.parquet_io import write_json_atomic
from data.records import Problem
from engines.base import SamplingConfig
from data.provenance import portable_path
from labelers.prompter import prompter_from_provenance
from rl.checkpoints import STATE, TRAINER, latest_checkpoint, read_log, save_checkpoint
from rl.policy_eval import check_problems, greedy_accuracy

KEPT = "kept.json"
ENGINES = ("vllm", "hf")


@dataclass
class RFTConfig(SamplingConfig):
    temperature: float = 0.7
    policy: str = ""  # HF checkpoint to fine-tune; "" = the embedded tiny policy
    prm: str = ""  # optional PRM checkpoint (train-prm) or "gold": keep a solution only if min step score >= threshold
    prm_threshold: float = 0.5
    samples: int = 4  # solutions sampled per training problem
    check_arithmetic: bool = True  # drop solutions with a false equation of their own
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    weight_decay: float = 0.01
    heldout_n: int = 300
    eval_every: int = 500
    engine: str = "vllm"  # sampling engine: "vllm" or "hf"
    # The policy's prompt format (labelers.prompter description); {}: the plain format of a base model.
    prompt_format: dict = field(default_factory=dict)
    threads: int = 2
    progress: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not self.policy:
            from data.assets import default_policy_path

            self.policy = str(default_policy_path())
        checks = {"samples": self.samples >= 1, "temperature": self.temperature > 0, "max_tokens": self.max_tokens >= 1,
                  "steps": self.steps >= 1, "batch_size": self.batch_size >= 1, "lr": self.lr > 0,
                  "weight_decay": self.weight_decay >= 0, "heldout_n": self.heldout_n >= 1,
                  "eval_every": self.eval_every >= 1, "engine": self.engine in ENGINES, "threads": self.threads >= 1,
                  "prm_threshold": 0.0 <= self.prm_threshold <= 1.0}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            expected = {"engine": f"one of {ENGINES}", "prm_threshold": "in [0, 1]"}.get(bad[0])
            problem = f"is invalid; expected {expected}" if expected else "is out of range"
            raise ValueError(f"RFTConfig.{bad[0]}: {getattr(self, bad[0])!r} {problem}")

    def identity(self) -> dict[str, Any]:
        """What decides the run: the policy and PRM by content hash, not by where they lie."""
        from data.provenance import source_ref

        d = asdict(self)
        for key in ("policy", "prm"):
            d[key] = source_ref(d[key]) if d[key] and d[key] != "gold" else d[key]
        for key in ("eval_every", "threads", "progress", "steps"):  # may change between resumes
            d.pop(key)
        return d


def keep_solution(correct: bool, false_equation: str | None, step_scores: Sequence[float] | None,
                  threshold: float) -> bool:
    """Whether a sampled solution goes into the fine-tuning set.

    >>> keep_solution(True, None, None, 0.5), keep_solution(True, "47 / 2 = 23", None, 0.5)
    (True, False)
    >>> keep_solution(True, None, [0.9, 0.4], 0.5), keep_solution(False, None, [0.9], 0.5)
    (False, False)
    """
    if not correct or false_equation is not None:
        return False
    return step_scores is None or not step_scores or min(step_scores) >= threshold


def sample_and_select(cfg: RFTConfig, problems: Sequence[Problem]) -> dict[str, Any]:
    """Sample, grade and select; returns ``{"kept": [{"problem_id", "prompt", "completion"}], counts...}``."""
    from data.records import seed_from
    from engines import make_engine
    from verifiers import grade_many
    from verifiers.arithmetic import false_equation

    _say(cfg, f"rft: sampling {cfg.samples} solutions of each of {len(problems)} problems ({cfg.engine})")
    engine = make_engine(cfg.engine, model=cfg.policy)
    prompter = prompter_from_provenance(cfg.prompt_format, engine.tokenizer)
    prompts = [prompter.question_prompt(p.question) for p in problems]
    requests = [cfg.request(prompt, n=cfg.samples, stop=prompter.stops,
                            add_special_tokens=prompter.add_special_tokens, seed=seed_from("rft", cfg.seed, p.problem_id))
                for prompt, p in zip(prompts, problems)]
    outputs = engine.generate(requests)
    del engine
    flat = [(p, prompt, c) for p, prompt, cs in zip(problems, prompts, outputs) for c in cs]
    verdicts = grade_many([(c.text, p.gold_answer) for p, _, c in flat])
    wrong_eq = [false_equation(c.text) if cfg.check_arithmetic else None for _, _, c in flat]
    scores: list[list[float] | None] = [None] * len(flat)
    if cfg.prm:
        from prm_training.load import load_scorer

        scorer = load_scorer(cfg.prm, "hf", cfg.threads, problems)
        _say(cfg, f"rft: scoring the verified solutions with the PRM {cfg.prm}")
        todo = [i for i, v in enumerate(verdicts) if v.correct and wrong_eq[i] is None]
        scored = scorer.score_batch([(flat[i][0].question, prompter.steps_of(flat[i][2].text)[0]) for i in todo])
        for i, sc in zip(todo, scored):
            scores[i] = list(sc)
    kept = [{"problem_id": p.problem_id, "prompt": prompt, "completion": c.text,
             "completion_ids": list(c.token_ids) if c.token_ids is not None else None}
            for (p, prompt, c), v, eq, sc in zip(flat, verdicts, wrong_eq, scores)
            if keep_solution(bool(v.correct), eq, sc, cfg.prm_threshold)]
    return {"kept": kept, "sampled": len(flat), "correct": sum(bool(v.correct) for v in verdicts),
            "false_equation": sum(bool(v.correct) and eq is not None for v, eq in zip(verdicts, wrong_eq)),
            "prm_rejected": sum(sc is not None and not keep_solution(True, None, sc, cfg.prm_threshold)
                                for sc in scores)}


def _say(cfg: RFTConfig, message: str) -> None:
    """A stage line on stderr for the stages without a bar of their own."""
    if cfg.progress:
        print(message, file=sys.stderr, flush=True)


def run_rft(cfg: RFTConfig, problems: Sequence[Problem], out_dir: str | Path) -> dict[str, Any]:
    """Sample and select (once), fine-tune with checkpoints (resumable), export ``OUT/policy``; the summary."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from data.synthetic import SynthSplit
    from prm_training.optim import adamw
    from rl.policy_sft import sft_loop

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    heldout = SynthSplit().heldout(cfg.heldout_n)
    check_problems(problems, heldout)
    torch.set_num_threads(cfg.threads)
    _claim(out, {**cfg.identity(), "problems": [p.problem_id for p in problems]})
    started = time.time()
    kept, counts = _kept_samples(cfg, problems, out)
    tokenizer = AutoTokenizer.from_pretrained(cfg.policy)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    prompter = prompter_from_provenance(cfg.prompt_format, tokenizer)
    examples = completion_examples(tokenizer, kept, prompter)

    resume = latest_checkpoint(out, "step")
    model = AutoModelForCausalLM.from_pretrained(str(resume or cfg.policy), dtype=torch.float32)
    optimizer = adamw(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    if resume is not None:
        state = json.loads((resume / STATE).read_text())
        blob = torch.load(resume / TRAINER, weights_only=False)
        optimizer.load_state_dict(blob["optimizer"])
        generator.set_state(blob["generator"])
    else:
        model.eval()
        before = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens, prompter)
        state = {"step": 0, "heldout_accuracy_before": before, "wall_s": 0.0}
    log_path = out / "log.jsonl"
    log_path.write_text("".join(json.dumps(x) + "\n" for x in read_log(log_path, "step", state["step"])))
    bar = tqdm(total=cfg.steps, initial=min(state["step"], cfg.steps), desc="rft", disable=not cfg.progress)

    def after_step(step: int, loss: float) -> None:
        nonlocal started
        state["step"] = step
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            accuracy = greedy_accuracy(model, tokenizer, heldout, cfg.max_tokens, prompter)
            state["wall_s"] += time.time() - started
            started = time.time()
            with log_path.open("a") as f:
                f.write(json.dumps({"step": step, "loss": round(loss, 6), "heldout_accuracy": round(accuracy, 4)}) + "\n")
            save_checkpoint(out, "step", step, model,
                            {"optimizer": optimizer.state_dict(), "generator": generator.get_state()}, state, tokenizer)
            bar.set_postfix(loss=f"{loss:.4f}", heldout=f"{accuracy:.3f}")

    sft_loop(model, optimizer, examples, tokenizer.pad_token_id, generator, cfg.batch_size,
             range(state["step"], cfg.steps), after_step=after_step)
    bar.close()
    log = read_log(log_path, "step", state["step"])
    model.save_pretrained(out / "policy", safe_serialization=True)
    tokenizer.save_pretrained(out / "policy")
    config = asdict(cfg)
    config.update(policy=portable_path(cfg.policy), prm=portable_path(cfg.prm))
    summary = {"status": "finished", "steps_done": state["step"], "heldout_n": cfg.heldout_n,
               "heldout_accuracy_before": round(state["heldout_accuracy_before"], 4),
               "heldout_accuracy_after": log[-1]["heldout_accuracy"] if log else None,
               "heldout_accuracy_by_step": {x["step"]: x["heldout_accuracy"] for x in log},
               "kept": len(kept), **counts, "wall_s": round(state["wall_s"] + time.time() - started, 1),
               "policy_dir": "policy", "config": config}
    write_json_atomic(out / "summary.json", summary)
    return summary


def _claim(out: Path, identity: dict) -> None:
    """Record the run's identity in ``rft_run.json``; refuse a folder that holds another run."""
    run_file = out / "rft_run.json"
    if run_file.exists():
        saved = json.loads(run_file.read_text())
        if saved != identity:
            diff = sorted(k for k in identity if saved.get(k) != identity[k])
            raise ValueError(f"{out} holds an RFT run with other settings ({', '.join(diff)}); use a new out_dir")
    else:
        write_json_atomic(run_file, identity)


def _kept_samples(cfg: RFTConfig, problems: Sequence[Problem], out: Path) -> tuple[list[dict], dict]:
    """The selected solutions (sampled once, then read from ``kept.json``) and the selection counts."""
    kept_file = out / KEPT
    if not kept_file.exists():
        write_json_atomic(kept_file, sample_and_select(cfg, problems))
    selected = json.loads(kept_file.read_text())
    kept = selected.pop("kept")
    if not kept:
        raise ValueError(f"rft: none of the {selected['sampled']} samples was kept; nothing to fine-tune on")
    return kept, selected


def completion_examples(tokenizer, kept: Sequence[dict], prompter) -> list[tuple[list[int], list[float]]]:
    """Token ids of prompt + completion + the end of the turn (EOS for the plain format), with loss weight 1
    on the completion and its end only."""
    end_id = prompter.end_of_turn_id(tokenizer)
    examples = []
    for row in kept:
        prompt_ids = tokenizer(row["prompt"], add_special_tokens=prompter.add_special_tokens)["input_ids"]
        sampled = row.get("completion_ids")  # the tokens as sampled, where the engine handed them out
        completion_ids = list(sampled) if sampled else tokenizer(row["completion"], add_special_tokens=False)["input_ids"]
        if not completion_ids or completion_ids[-1] != end_id:
            completion_ids.append(end_id)
        examples.append((prompt_ids + completion_ids, [0.0] * len(prompt_ids) + [1.0] * len(completion_ids)))
    return examples

"""Sample step-split solution traces from a policy (``prm-factory generate``).

Problems are cut into shards; each shard is one engine call (every problem asking ``K``
samples) and one Parquet file under ``DIR/traces/``, written atomically. A rerun skips the
shards already written, and seeds derive from problem ids, so it reproduces them exactly.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from data.parquet_io import write_json_atomic, write_records
from data.records import Problem, Trace, content_id, make_trace_id, seed_from
from data.synthetic import SOURCE as SYNTHETIC, gold_step_labels
from labelers.prompter import Prompter, prompter_from_provenance
from engines.base import Engine, GenRequest, SamplingConfig
from pipelines.run_dir import ensure_manifest


@dataclass
class GenerateConfig(SamplingConfig):
    samples: int = 4
    step_style: str = ""  # "": the prompt format's own (paragraphs for chat, lines for plain)
    # The resolved prompt format (Prompter.describe()); empty: auto (chat when the policy has a chat template).
    prompt_format: dict = field(default_factory=dict)
    shard_size: int = 100  # problems per shard (one engine call, one file)
    grade_timeout: float = 5.0

    def __post_init__(self):
        super().__post_init__()
        if self.samples < 1:
            raise ValueError(f"GenerateConfig.samples must be >= 1, got {self.samples}")
        if self.shard_size < 1:
            raise ValueError(f"GenerateConfig.shard_size must be >= 1, got {self.shard_size}")


def trace_requests(problems: Sequence[Problem], cfg: GenerateConfig, prompter: Prompter) -> list[GenRequest]:
    return [
        cfg.request(prompter.question_prompt(p.question), n=cfg.samples, stop=prompter.stops,
                    add_special_tokens=prompter.add_special_tokens,
                    seed=seed_from("generate", p.problem_id, cfg.seed))
        for p in problems
    ]


def sample_traces(engine: Engine, problems: Sequence[Problem], policy: str, cfg: GenerateConfig,
                  prompter: Prompter | None = None) -> list[Trace]:
    """``cfg.samples`` graded traces per problem, in problem order."""
    from verifiers import grade_many

    prompter = prompter or prompter_from_provenance(cfg.prompt_format, getattr(engine, "tokenizer", None),
                                                    default_style=cfg.step_style)
    completions = engine.generate(trace_requests(problems, cfg, prompter))
    texts = [(c.text, p.gold_answer) for p, cs in zip(problems, completions) for c in cs]
    verdicts = iter(grade_many(texts, timeout=cfg.grade_timeout))
    provenance = prompter.provenance() if cfg.prompt_format or prompter.fmt.kind != "plain" else ""
    traces = []
    for problem, samples in zip(problems, completions):
        for k, completion in enumerate(samples):
            verdict = next(verdicts)
            trace_id = make_trace_id(problem.problem_id, policy, k, cfg.seed)
            steps, delimiters = prompter.steps_of(completion.text, trace_id)
            gold = None
            if problem.source == SYNTHETIC and problem.gold_steps:
                gold = gold_step_labels(problem.gold_steps, steps)
            traces.append(Trace(
                trace_id=trace_id, problem_id=problem.problem_id, question=problem.question,
                gold_answer=problem.gold_answer, steps=steps, policy=policy, final_answer=verdict.extracted,
                outcome_correct=verdict.correct, gold_labels=gold, source=problem.source,
                gold_steps=problem.gold_steps, step_delimiters=delimiters, prompt_format=provenance,
            ))
    return traces


def generate_traces(engine: Engine, problems: Sequence[Problem], out_dir: str | Path, policy: str,
                    cfg: GenerateConfig, progress: bool = True, prompter: Prompter | None = None) -> dict:
    """Write ``out_dir/traces/shard-NNNNN.parquet``; skip shards already there. Returns a summary.
    ``prompter`` (default: ``cfg.prompt_format`` against the engine's tokenizer) renders the prompts."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    ensure_manifest(out_dir, {"stage": "generate", "problems": content_id([p.problem_id for p in problems]),
                              "policy": policy, "config": asdict(cfg)})
    traces_dir = out_dir / "traces"
    start = time.time()
    shards = [problems[i:i + cfg.shard_size] for i in range(0, len(problems), cfg.shard_size)]
    written = skipped = 0
    bar = tqdm(total=len(shards), desc="generate", unit="shard", disable=not progress)
    for index, shard in enumerate(shards):
        path = traces_dir / f"shard-{index:05d}.parquet"
        if path.exists():
            skipped += 1
        else:
            traces = sample_traces(engine, shard, policy, cfg, prompter)
            write_records(path, traces)
            written += 1
        bar.update(1)
    bar.close()
    summary = {"problems": len(problems), "shards": len(shards), "shards_written": written,
               "shards_skipped": skipped, "wall_s": round(time.time() - start, 2), "config": asdict(cfg),
               "policy": policy}
    write_json_atomic(out_dir / "generate_summary.json", summary)
    return summary

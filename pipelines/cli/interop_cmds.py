"""``prm-factory export`` and ``prm-factory import``: StepLabels out to TRL / Math-Shepherd / JSONL,
and third-party step-labeled files (Math-Shepherd, PRM800K, ProcessBench) in as traces with gold labels.

``import`` writes ``OUT/traces/shard-00000.parquet`` (Trace rows), which ``prm-factory label
--traces OUT/traces`` reads.
"""
from __future__ import annotations

from pathlib import Path

# Kept in step with data.exporters.EXPORT_FORMATS and data.trace_io.IMPORT_FORMATS (a test checks);
# spelled out here so that building the parser imports neither module.
EXPORT_FORMATS = ("trl", "math-shepherd", "jsonl")
IMPORT_FORMATS = ("math-shepherd", "prm800k", "processbench")
TRACES_SHARD = Path("traces") / "shard-00000.parquet"


def labels_path(path: str | Path) -> Path:
    """The StepLabels of ``path``: ``path/labels`` when ``path`` is a label run directory, else ``path`` itself."""
    path = Path(path)
    if path.is_dir() and (path / "labels").is_dir():
        return path / "labels"
    return path


def cmd_export(args) -> None:
    from data.exporters import export_labels

    source = labels_path(args.labels)
    if not source.exists():
        raise FileNotFoundError(f"--labels {args.labels}: no such file or directory")
    n = export_labels(source, args.out, fmt=args.format)
    print(f"wrote {n} rows ({args.format}) from {source} to {args.out}")


def cmd_import(args) -> None:
    from data.parquet_io import write_records
    from data.trace_io import import_labeled

    source = Path(args.input)
    if not source.exists():
        raise FileNotFoundError(f"--input {args.input}: no such file or directory")
    traces = import_labeled(source, fmt=args.format, step_tag=args.step_tag)
    if not traces:
        raise ValueError(f"--input {args.input}: no {args.format} rows to import")
    out = Path(args.out) / TRACES_SHARD
    write_records(out, traces)
    steps = sum(len(t.steps) for t in traces)
    good = sum(sum(t.gold_labels or []) for t in traces)
    no_gold = sum(1 for t in traces if not t.gold_answer.strip())
    print(f"imported {len(traces)} traces ({len(set(t.problem_id for t in traces))} problems, {steps} steps, "
          f"{good} gold-positive, {steps - good} gold-negative) from {source}")
    if no_gold:
        print(f"note: {no_gold} traces have no gold answer; `prm-factory label` will reject them")
    print(f"wrote {out}")


def add_subcommands(sub) -> None:
    p = sub.add_parser("export", help="export StepLabels to TRL stepwise Parquet, Math-Shepherd JSONL or JSONL",
                       description="trl: Parquet with prompt, completions, labels; math-shepherd: JSONL with "
                                   "input/label/task; jsonl: every StepLabels column.")
    p.add_argument("--labels", required=True,
                   help="StepLabels Parquet file or directory (a label run directory means its labels/)")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", required=True, help="output file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="import Math-Shepherd, PRM800K or ProcessBench step-labeled rows as traces",
                       description="Write OUT/traces/shard-00000.parquet (Trace rows, gold_labels from the file) "
                                   "for `prm-factory label --traces OUT/traces` and evaluation. ProcessBench rows "
                                   "give first-error labels (steps before `label` right, the rest wrong); its "
                                   "gold answer is an `answer` column, else a same-problem solution marked "
                                   "final_answer_correct.")
    p.add_argument("--format", required=True, choices=IMPORT_FORMATS)
    p.add_argument("--input", required=True, help="JSONL, JSON or Parquet file")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--step-tag", default="ки", help="math-shepherd step tag (default: ки)")
    p.set_defaults(func=cmd_import)

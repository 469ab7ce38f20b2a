"""``prm-factory train-prm`` and ``prm-factory eval-prm``: train a PRM on label Parquet, measure any PRM on
label runs or on ProcessBench-format files."""
from __future__ import annotations

import json

from pipelines.cli.common import add_prm_format_args


KIND_REASONS = {
    "likelihood": "likelihood PRM: the base LM's own per-step surprise, calibrated on the labels (3 numbers fitted; "
                  "the default, since it ranks steps best on the embedded policy: docs/prm.md)",
    "tag": "tag PRM: a Math-Shepherd step-tag head fine-tuned on the labels (needs many labels to learn to check a "
           "step; docs/prm.md)",
}


def cmd_train_prm(args) -> None:
    print(f"train-prm: training a {KIND_REASONS[args.kind]}", flush=True)
    if args.kind == "likelihood":
        from prm_training.likelihood_prm import fit_likelihood_prm

        summary = fit_likelihood_prm(args.labels, args.out, base_model=args.base or "", label_type=args.label_type,
                                     val_fraction=args.val_fraction, batch_size=args.batch_size, threads=args.threads)
        print(json.dumps(summary, indent=2))
        return
    from prm_training.prm_trainer import PRMTrainConfig, train_prm

    cfg = PRMTrainConfig(base_model=args.base or "", label_type=args.label_type, epochs=args.epochs, lr=args.lr,
                         batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
                         val_fraction=args.val_fraction, num_threads=args.threads,
                         stop_after_epochs=args.stop_after_epochs, device=args.device)
    summary = train_prm(args.labels, args.out, cfg, progress=not args.no_progress)
    last = summary.get("history", [{}])[-1] if summary.get("history") else {}
    print(json.dumps({"status": summary.get("status"), "out": args.out, "epochs_done": summary.get("epochs_done"),
                      "train_examples": summary.get("train_examples"), "val_examples": summary.get("val_examples"),
                      "last_epoch": last, **({"warning": summary["warning"]} if "warning" in summary else {})},
                     indent=2))


def cmd_eval_prm(args) -> None:
    from pipelines.cli.common import prm_format_from_args

    if (args.labels is None) == (args.processbench is None):
        raise ValueError("eval-prm needs exactly one of --labels RUN and --processbench FILE")
    fmt = prm_format_from_args(args)
    if args.processbench:
        _eval_processbench(args, fmt)
        return
    if args.tune_threshold is not None:
        raise ValueError("--tune-threshold applies to --processbench")
    from prm_training.prm_eval import evaluate_prm

    metrics = evaluate_prm(args.prm, args.labels, args.out, split=args.split, batch_size=args.batch_size,
                           threads=args.threads, backend=args.prm_backend, prm_format=fmt,
                           max_length=args.max_length)
    keys = ["reference", "split", "n_traces", "n_steps", "n_positive_steps", "step_auc", "step_accuracy",
            "step_balanced_accuracy", "first_error_acc_erroneous", "first_error_acc_correct", "first_error_f1",
            "truncated_steps", "ece", "mc_labels_vs_gold", "base_lm_likelihood_auc", "warning", "plot"]
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}, indent=2))
    if args.out:
        print(f"metrics written to {args.out}/metrics.json")


def _eval_processbench(args, fmt) -> None:
    from prm_training.processbench_eval import evaluate_processbench

    tune = args.tune_threshold is not None
    metrics = evaluate_processbench(args.prm, args.processbench, args.out, threshold=args.threshold,
                                    tune=tune, tune_on=args.tune_threshold or None, backend=args.prm_backend,
                                    prm_format=fmt, batch_size=args.batch_size, threads=args.threads,
                                    max_length=args.max_length)
    keys = ["processbench_f1", "accuracy_erroneous", "accuracy_correct", "n", "n_erroneous", "n_correct",
            "threshold", "per_generator", "tuned", "truncated_rows", "truncated_steps", "undecided_rows"]
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}, indent=2))
    if args.out:
        print(f"metrics and predictions written to {args.out}/metrics.json, {args.out}/predictions.jsonl")


def add_subcommands(sub) -> None:
    p = sub.add_parser("train-prm", help="train a process reward model on step labels (Parquet)")
    p.add_argument("--labels", required=True, help="label run directory (or its labels/ folder, or a Parquet file)")
    p.add_argument("--out", required=True, help="output PRM checkpoint directory (rerun to resume)")
    p.add_argument("--base", default=None, help="HF causal-LM checkpoint to start from (default: the embedded policy)")
    p.add_argument("--kind", choices=["tag", "likelihood"], default="likelihood",
                   help="tag: fine-tune a Math-Shepherd step-tag head; likelihood: calibrate the base LM's per-step "
                        "token log-probabilities on the labels (docs/prm.md compares them)")
    p.add_argument("--label-type", choices=["hard", "soft"], default="hard")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.2, help="fraction of problems held out (hash split)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--stop-after-epochs", type=int, default=0, help="stop after N epochs of this run (resume later)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA when torch sees a GPU), cpu, cuda or cuda:N; a run resumes on either")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train_prm)

    p = sub.add_parser("eval-prm", help="a PRM's step AUC/accuracy, first-error F1 and calibration on label runs, "
                                        "or its ProcessBench F1 on human-annotated first errors")
    p.add_argument("--prm", required=True,
                   help="PRM checkpoint directory (from train-prm, or a third-party one with --prm-format)")
    p.add_argument("--labels", default=None, help="label run directory (or its labels/ folder, or a Parquet file)")
    p.add_argument("--processbench", default=None,
                   help="ProcessBench-format JSONL/JSON/Parquet (id, generator, problem, steps, "
                        "final_answer_correct, label = the earliest wrong step or -1)")
    p.add_argument("--out", default=None,
                   help="write metrics.json and prm_eval.png (--labels) or metrics.json and predictions.jsonl "
                        "(--processbench) here")
    p.add_argument("--split", choices=["val", "all"], default="val",
                   help="--labels: the PRM's held-out problems, or all")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="--processbench: the first step with P(good) below this is the predicted first error")
    p.add_argument("--tune-threshold", nargs="?", const="", default=None, metavar="SPLIT",
                   help="--processbench: also report the threshold with the best F1 on this file (in-sample); "
                        "with SPLIT (another ProcessBench file), pick it there and evaluate with it")
    p.add_argument("--prm-backend", choices=["hf", "vllm"], default="hf",
                   help="score through transformers or vLLM's pooling runner")
    p.add_argument("--max-length", type=int, default=None,
                   help="the PRM's context in tokens (default: the model's; not for a likelihood PRM); longer "
                        "solutions are cut and reported")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    add_prm_format_args(p)
    p.set_defaults(func=cmd_eval_prm)

"""Does the PRM that the CLI's defaults make help? And how much of its quality do the labels give?

As a new user would, with every option at its default on the embedded policy:

    prm-factory synth --n 200 --seed 1 --out W/train.jsonl
    prm-factory generate --problems W/train.jsonl --out W/gen
    prm-factory label --traces W/gen/traces --out W/label
    prm-factory train-prm --labels W/label --out W/prm
    prm-factory eval-search --prm W/prm --problems W/heldout.jsonl --methods majority,best-of-n,weighted-sc --n-max 16

then best-of-16 against majority@16 on 150 held-out problems of a seed used nowhere else (goal: +5 points).
The same sweep with ``--prm gold`` (the exact gold step labels as the PRM, on the same seeded samples) gives
the ceiling any PRM could reach, and the misses of the trained PRM are split by what went wrong: a
solution right at every step was among the 16 and ranked lower, or none was.
The same PRM kind is also fitted on the exact gold step labels of the same traces, and both are scored
against gold on the validation problems: the gap is what the Monte Carlo labels cost (goal: <= 0.03).
A diagnostic rebuilds the same PRM kind on a second LM that did not sample the traces (the embedded
plain-format policy) and scores the same draw, with the sampler's own LM read the same way as the control:
how much of the miss is the sampler judging its own confident errors.

    python bench/prm_defaults.py [--work runs/bench_prm_defaults] [--train-problems 200] [--heldout 150]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.result_io import RESULTS_DIR, figure, write_result  # noqa: E402
TITLE = "PRMs from the CLI defaults: best-of-16 against majority@16, and MC labels against gold"
HELDOUT_SEED = 31337
ANSWER_SENTENCE = re.compile(r"\.?\s*The answer is.*$")


def cli(*args: str) -> float:
    """Run one ``prm-factory`` command; its wall time."""
    start = time.time()
    print("$ prm-factory " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "pipelines.cli.main", *args], cwd=ROOT, check=True)
    return round(time.time() - start, 1)


def gold_copy(labels_dir: Path, out: Path) -> Path:
    """The same label rows with the exact gold step labels as their hard and soft labels."""
    from data.parquet_io import read_rows, write_rows_atomic
    from data.records import StepLabels

    rows = [r for r in read_rows(labels_dir / "labels") if r.get("gold_labels") is not None]
    for row in rows:
        row["labels"] = list(row["gold_labels"])
        row["soft_labels"] = [1.0 if g else 0.0 for g in row["gold_labels"]]
    write_rows_atomic(out / "labels" / "shard-00000.parquet", rows, StepLabels.SCHEMA, "StepLabels")
    return out


def draw_rows(search_dir: Path) -> list[dict]:
    """The saved sample draw of an ``eval-search`` run: per problem, its texts, answers and step scores."""
    rows = []
    for batch in sorted((search_dir / "parts" / "draw").glob("batch-*.json")):
        rows.extend(json.loads(batch.read_text()))
    return rows


def miss_reasons(prm_rows: list[dict], gold_rows: list[dict], gold_answers: dict[str, str], n: int = 16,
                 equivalent=None) -> dict:
    """Why best-of-``n`` with the PRM missed, from two draws of the same samples (one scored by the PRM, one by
    the gold step labels): ``outranked`` a solution right at every step was among the samples; ``no_right_solution``
    none was (a right answer may still have come from compensating errors); ``picked_majority`` the PRM's pick
    was also the majority answer; ``outranked_at_the_error`` of the outranked misses, those where the PRM's
    lowest-scored step of the best-scored right solution is the very step where the pick first went wrong (the
    PRM preferred the wrong value of that step to the right one).

    >>> prm = [{"problem_id": "p", "texts": ["a", "b"], "answers": ["5", "6"], "step_scores": [[0.9, 0.8], [0.9, 0.4]]}]
    >>> gold = [{"problem_id": "p", "texts": ["a", "b"], "answers": ["5", "6"], "step_scores": [[1.0, 0.0], [1.0, 1.0]]}]
    >>> miss_reasons(prm, gold, {"p": "6"}, n=2)
    {'problems': 1, 'misses': 1, 'outranked': 1, 'no_right_solution': 0, 'picked_majority': 1, 'outranked_at_the_error': 1}
    """
    from search.select import aggregate_step_scores, best_index, majority_answer

    same = equivalent or (lambda a, b: a == b)
    gold_by_id = {r["problem_id"]: r for r in gold_rows}
    out = {"problems": len(prm_rows), "misses": 0, "outranked": 0, "no_right_solution": 0, "picked_majority": 0,
           "outranked_at_the_error": 0}
    for row in prm_rows:
        gold = gold_by_id[row["problem_id"]]
        if gold["texts"][:n] != row["texts"][:n]:
            raise ValueError(f"problem {row['problem_id']}: the PRM's and the gold draw sampled different solutions")
        scores = [aggregate_step_scores(s) for s in row["step_scores"][:n]]
        pick = best_index(scores)
        answer = row["answers"][pick]
        if answer is not None and same(answer, gold_answers[row["problem_id"]]):
            continue
        out["misses"] += 1
        right = [i for i, s in enumerate(gold["step_scores"][:n]) if s and min(s) == 1.0]
        out["outranked" if right else "no_right_solution"] += 1
        if right and 0.0 in gold["step_scores"][pick]:
            best_right = row["step_scores"][max(right, key=lambda i: scores[i])]
            weakest = min(range(len(best_right)), key=best_right.__getitem__)
            out["outranked_at_the_error"] += int(weakest == gold["step_scores"][pick].index(0.0))
        majority = majority_answer(row["answers"][:n], same)
        out["picked_majority"] += int(answer is not None and majority is not None and same(answer, majority))
    return out


def without_answer_sentence(steps: list[str]) -> list[str]:
    """The steps without the closing answer sentence, which the plain-format LM never saw written this way.

    >>> without_answer_sentence(["2 + 3 = 5", "5 * 2 = 10. The answer is \\\\boxed{10}."])
    ['2 + 3 = 5', '5 * 2 = 10']
    """
    return [ANSWER_SENTENCE.sub("", step) or step for step in steps]


def verifier_without_answer_sentence(work: Path, base: Path, plain_format: bool, n: int = 16) -> dict:
    """Best-of-``n`` on the saved draw, and step AUC against gold on the validation split, of the default PRM's
    kind rebuilt on the LM ``base`` with every step read without its closing answer sentence, and calibrated as
    ``train-prm`` calibrates the default (same features, label type and training split).

    With ``base`` the embedded plain-format policy (``plain_format``: each question in its own plain format) this
    is a verifier that did not sample the traces: the sampler's recipe and data, trained apart, in another prompt
    format, and about as accurate. With ``base`` the sampler itself it is the control, which tells the second LM's
    effect from the answer sentence's. A diagnostic of how much of the default's miss is the sampler judging its
    own confident errors.
    """
    from labelers.metrics import roc_auc
    from labelers.prompter import Prompter
    from prm_training.likelihood_prm import calibrated, fit_logistic, likelihood_features
    from prm_training.prm_data import load_label_rows, split_rows, target_values
    from prm_training.prm_format import PRMConfig
    from prm_training.prm_model import load_causal_lm
    from transformers import AutoTokenizer

    from search.config import equivalent
    from search.sampling import choose_from_samples

    config = PRMConfig.load(work / "prm")
    model, tokenizer = load_causal_lm(base)
    sampler_prompter = config.prompter(AutoTokenizer.from_pretrained(str(work / "prm")))
    prompter = Prompter.plain() if plain_format else config.prompter(tokenizer)
    problems = {}
    for name in ("train.jsonl", "heldout.jsonl"):
        for line in (work / name).read_text().splitlines():
            problem = json.loads(line)
            problems[problem["problem_id"]] = problem

    def features(pairs: list[tuple[str, list[str]]]) -> list[list[tuple[float, float]]]:
        items = [(prompter.question_prompt(problems[pid]["question"]), without_answer_sentence(steps))
                 for pid, steps in pairs]
        return likelihood_features(model, tokenizer, items, prompter=prompter)

    rows = [r for r in load_label_rows(work / "label") if r["completions"]]
    train, val = split_rows(rows, config.val_fraction)
    weights, bias = fit_logistic([f for per in features([(r["problem_id"], list(r["completions"])) for r in train])
                                  for f in per], [t for r in train for t in target_values(r, config.label_type)])

    def step_scores(pairs: list[tuple[str, list[str]]]) -> list[list[float]]:
        return [[calibrated(weights, bias, f) for f in per] for per in features(pairs)]

    val_scores = step_scores([(r["problem_id"], list(r["completions"])) for r in val])
    auc = roc_auc([s for per in val_scores for s in per], [bool(g) for r in val for g in r["gold_labels"]])
    draw = draw_rows(work / "search")
    scores = iter(step_scores([(row["problem_id"], sampler_prompter.steps_of(text)[0])
                               for row in draw for text in row["texts"][:n]]))
    right = 0
    for row in draw:
        pick, _ = choose_from_samples("best-of-n", row["answers"][:n], [next(scores) for _ in row["texts"][:n]],
                                      equivalent=equivalent)
        answer = row["answers"][pick]
        right += int(answer is not None and equivalent(answer, problems[row["problem_id"]]["gold_answer"]))
    return {"best_of_16": round(right / len(draw), 4), "step_auc_gold": round(auc, 4)}


def figures(body: dict) -> list[dict]:
    """The figures of a run, from its body.

    >>> f = figures({"best_of_16": 0.8, "majority_16": 0.7, "auc_mc": 0.9, "auc_gold": 0.91, "kind": "likelihood"})
    >>> [x["met"] for x in f]
    [True, None, True]
    """
    gain = round(body["best_of_16"] - body["majority_16"], 4)
    gap = round(body["auc_gold"] - body["auc_mc"], 4)
    return [figure("best_of_16_minus_majority_16", f"best-of-16 minus majority@16 ({body['kind']} PRM, CLI defaults)",
                   gain, ">= 0.05", headline=True),
            *([figure("best_of_16_gold_prm", "best-of-16 with the gold step labels as the PRM (the ceiling)",
                      body["best_of_16_gold_prm"]),
               figure("best_of_16_misses_outranked", "best-of-16 misses where a solution right at every step "
                      "was ranked lower", body["misses"]["outranked"],
                      note=f"of {body['misses']['misses']} misses on {body['misses']['problems']} problems; "
                           f"{body['misses']['picked_majority']} of the misses picked the majority answer; "
                           f"in {body['misses']['outranked_at_the_error']} of the {body['misses']['outranked']} "
                           "outranked, the right solution's lowest-scored step is the step where the pick went wrong")]
              if "misses" in body else []),
            *([figure("best_of_16_second_lm_minus_majority_16", "best-of-16 minus majority@16, the same PRM kind "
                      "on a second LM that did not sample the traces (diagnostic)",
                      round(body["second_lm"]["best_of_16"] - body["majority_16"], 4),
                      note=f"the embedded plain-format policy (same recipe and data as the sampler, trained apart); "
                           f"step AUC against gold {body['second_lm']['step_auc_gold']}; steps read without the "
                           "closing answer sentence, which that LM never saw"),
               figure("best_of_16_sampler_lm_control_minus_majority_16", "the same on the sampler's own LM, steps "
                      "read the same way (the control)", round(body["sampler_lm_control"]["best_of_16"]
                                                                - body["majority_16"], 4),
                      note=f"step AUC against gold {body['sampler_lm_control']['step_auc_gold']}")]
              if "second_lm" in body else []),
            *([figure("weighted_sc_16_minus_majority_16", "weighted-SC@16 minus majority@16",
                      round(body["weighted_sc_16"] - body["majority_16"], 4))] if "weighted_sc_16" in body else []),
            figure("step_auc_mc", "step AUC against gold, PRM on Monte Carlo labels", body["auc_mc"]),
            figure("mc_vs_gold_gap", "step AUC gap: PRM on gold labels minus PRM on MC labels", gap, "<= 0.03"),
            *[figure(f"step_auc_{kind}_{source}", f"step AUC against gold, {kind} PRM on {name} labels", auc[f"auc_{source}"])
              for kind, auc in body.get("other_kinds", {}).items()
              for source, name in (("mc", "Monte Carlo"), ("gold", "gold"))],
            *[figure(f"accuracy_{method.split(' ')[0].replace('-', '_').replace('@', '_at_')}_n{n}",
                     f"held-out accuracy, {method}, N = {n}", acc)
              for method, by_n in body.get("sweep", {}).items() for n, acc in sorted(by_n.items(), key=lambda x: int(x[0]))]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="runs/bench_prm_defaults")
    ap.add_argument("--train-problems", type=int, default=200)
    ap.add_argument("--heldout", type=int, default=150)
    ap.add_argument("--other-kinds", nargs="*", default=["tag"],
                    help="PRM kinds also trained on the MC and on the gold labels, for their step AUCs")
    ap.add_argument("--out", default=str(RESULTS_DIR / "prm_defaults.json"))
    args = ap.parse_args()
    work = ROOT / args.work
    work.mkdir(parents=True, exist_ok=True)
    wall = {"synth": cli("synth", "--n", str(args.train_problems), "--seed", "1", "--out", str(work / "train.jsonl"))}
    wall["synth_heldout"] = cli("synth", "--n", str(args.heldout), "--seed", str(HELDOUT_SEED),
                                "--out", str(work / "heldout.jsonl"))
    train_ids = {json.loads(x)["problem_id"] for x in (work / "train.jsonl").read_text().splitlines()}
    held_ids = {json.loads(x)["problem_id"] for x in (work / "heldout.jsonl").read_text().splitlines()}
    if train_ids & held_ids:
        raise SystemExit(f"{len(train_ids & held_ids)} held-out problems are also training problems")
    wall["generate"] = cli("generate", "--problems", str(work / "train.jsonl"), "--out", str(work / "gen"))
    wall["label"] = cli("label", "--traces", str(work / "gen" / "traces"), "--out", str(work / "label"))
    gold = gold_copy(work / "label", work / "gold_labels")
    auc = {}
    for kind in [""] + args.other_kinds:  # "": the CLI's default kind
        for source, labels in (("mc", work / "label"), ("gold", gold)):
            name = f"prm{'_' + kind if kind else ''}{'_gold' if source == 'gold' else ''}"
            extra = ["--kind", kind] if kind else []
            wall[f"train_{name}"] = cli("train-prm", "--labels", str(labels), "--out", str(work / name), *extra)
            cli("eval-prm", "--prm", str(work / name), "--labels", str(work / "label"), "--out",
                str(work / f"{name}_eval"))
            auc[(kind, source)] = json.loads((work / f"{name}_eval" / "metrics.json").read_text())["step_auc"]
    wall["eval_search"] = cli("eval-search", "--prm", str(work / "prm"), "--problems", str(work / "heldout.jsonl"),
                              "--limit", str(args.heldout), "--methods", "majority,best-of-n,weighted-sc", "--n-max", "16",
                              "--out", str(work / "search"))
    wall["eval_search_gold"] = cli("eval-search", "--prm", "gold", "--problems", str(work / "heldout.jsonl"),
                                   "--limit", str(args.heldout), "--methods", "best-of-n", "--n-max", "16",
                                   "--out", str(work / "search_gold"))
    from search.config import equivalent

    gold_answers = {json.loads(x)["problem_id"]: json.loads(x)["gold_answer"]
                    for x in (work / "heldout.jsonl").read_text().splitlines()}
    misses = miss_reasons(draw_rows(work / "search"), draw_rows(work / "search_gold"), gold_answers,
                          equivalent=equivalent)
    from data.assets import default_policy_path, plain_policy_path

    print("diagnostic: the default PRM kind on a second LM (the plain-format policy), and on the sampler's own LM",
          flush=True)
    second_lm = verifier_without_answer_sentence(work, plain_policy_path(), plain_format=True)
    sampler_lm_control = verifier_without_answer_sentence(work, default_policy_path(), plain_format=False)
    gold_points = json.loads((work / "search_gold" / "sweep.json").read_text())["points"]
    config = json.loads((work / "prm" / "prm_config.json").read_text())
    points = json.loads((work / "search" / "sweep.json").read_text())["points"]

    def at(method: str, n: int) -> float:
        return next(p["accuracy"] for p in points if p["method"] == method and p["n"] == n)

    body = {"kind": config["kind"], "best_of_16": at("best-of-n", 16), "majority_16": at("majority", 16),
            "weighted_sc_16": at("weighted-sc", 16), "sample_accuracy": at("majority", 1),
            "best_of_16_gold_prm": next(p["accuracy"] for p in gold_points if p["method"] == "best-of-n" and p["n"] == 16),
            "misses": misses, "second_lm": second_lm, "sampler_lm_control": sampler_lm_control,
            "sweep": {m: {str(p["n"]): p["accuracy"] for p in points if p["method"] == m}
                      for m in sorted({p["method"] for p in points})}, "auc_mc": auc[("", "mc")], "auc_gold": auc[("", "gold")],
            "other_kinds": {k: {"auc_mc": auc[(k, "mc")], "auc_gold": auc[(k, "gold")]} for k in args.other_kinds},
            "heldout_problems": args.heldout, "heldout_seed": HELDOUT_SEED, "train_problems": args.train_problems,
            "wall_s": wall}
    write_result(args.out, "prm_defaults", TITLE, figures(body), body)
    print(json.dumps(body, indent=2))


if __name__ == "__main__":
    main()

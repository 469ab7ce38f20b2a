"""PRM data: problem-level split, float soft targets end to end, step-tag tokenization."""
import random

import pytest

from prm_training.prm_data import load_label_rows, make_examples, split_of, split_rows, target_values
from prm_training.prm_fixtures import fixture_rows, write_label_fixture


def _rows(n_problems=200, traces=3):
    return [{"problem_id": f"p{p}", "trace_id": f"p{p}-{t}"} for p in range(n_problems) for t in range(traces)]


def test_split_by_problem_never_leaks_and_ignores_order():
    rows = _rows()
    train, val = split_rows(rows, 0.25)
    assert not {r["problem_id"] for r in train} & {r["problem_id"] for r in val}
    assert 0.15 < len({r["problem_id"] for r in val}) / 200 < 0.35
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert {r["trace_id"] for r in split_rows(shuffled, 0.25)[1]} == {r["trace_id"] for r in val}
    # a larger fraction only moves problems from train to val
    assert {r["problem_id"] for r in val} <= {r["problem_id"] for r in split_rows(rows, 0.5)[1]}
    assert split_of("p1", 0.0) == "train"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from data.assets import default_policy_path

    return AutoTokenizer.from_pretrained(str(default_policy_path()))


def test_soft_labels_stay_float_from_parquet_to_targets(tmp_path, tokenizer):
    from prm_training.prm_format import resolve_tokens

    run = write_label_fixture(tmp_path / "run", n_problems=3, traces_per_problem=2)
    rows = load_label_rows(run)
    assert len(rows) == 6
    rows[0]["soft_labels"] = [0.3, 0.75]
    assert target_values(rows[0], "soft") == [0.3, 0.75]
    assert target_values(rows[0], "hard") == [1.0 if x else 0.0 for x in rows[0]["labels"]]
    examples = make_examples(rows, tokenizer, resolve_tokens(tokenizer), "soft", 512)
    assert examples[0].targets == [0.3, 0.75]
    assert any(0 < t < 1 and t != 0.5 for e in examples for t in e.targets)


def test_load_reads_labels_not_rollouts(tmp_path):
    from data.parquet_io import write_rows_atomic
    from data.records import Rollout

    run = write_label_fixture(tmp_path / "run", n_problems=2, traces_per_problem=1)
    write_rows_atomic(run / "rollouts" / "shard-00000.parquet",
                      [Rollout("t", 0, 0, "x", None, "incorrect", 1).to_dict()], Rollout.SCHEMA, "Rollout")
    assert len(load_label_rows(run)) == 2
    assert len(load_label_rows(run / "labels")) == 2
    write_label_fixture(tmp_path / "run2", n_problems=3, traces_per_problem=1, seed=1)
    assert len(load_label_rows(tmp_path)) == 5  # a folder of runs: every labels shard, no rollouts

    from prm_training.prm_data import labels_fingerprint

    run_id, sha = labels_fingerprint(run)
    assert run_id and labels_fingerprint(run / "labels") == (run_id, sha)
    assert labels_fingerprint(tmp_path)[0] is None and len(labels_fingerprint(tmp_path)[1]) == 64


def test_one_tag_per_step_and_truncation(tokenizer):
    from prm_training.prm_format import encode_steps, prm_text, resolve_tokens

    tokens = resolve_tokens(tokenizer)
    assert (tokens.good_token, tokens.bad_token) == ("+", "-")
    assert len({tokens.step_tag_id, tokens.good_token_id, tokens.bad_token_id}) == 3
    row = fixture_rows(1, 1)[0]
    ids, positions = encode_steps(tokenizer, row.prompt, row.completions, tokens)
    assert len(positions) == 2 and all(ids[p] == tokens.step_tag_id for p in positions)
    assert tokenizer.decode(ids, skip_special_tokens=True) == prm_text(row.prompt, row.completions)
    cut, kept = encode_steps(tokenizer, row.prompt, row.completions, tokens, max_length=positions[0] + 1)
    assert kept == positions[:1] and len(cut) == positions[0] + 1
    ex = make_examples([row.to_dict()], tokenizer, tokens, "soft", positions[0] + 1)
    assert ex[0].targets == [pytest.approx(row.soft_labels[0])]

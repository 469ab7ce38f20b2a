"""Bring your own PRM: third-party checkpoints without prm_config.json, read with --prm-format, score the right
positions on transformers and on vLLM's pooling runner (parity within 1e-3), and run through eval-prm, search
and rl. The checkpoints are tiny random ones of each architecture (no hub is reachable)."""
import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from prm_training.byo_fixtures import make_tiny_math_shepherd, make_tiny_qwen_prm  # noqa: E402

ITEMS = [("What is 2 + 3?", ["2 + 3 = 5", "5 * 2 = 10", "10 - 1 = 9", "The answer is 9"]),
         ("Ann has 4 pens. She gets 3 more. How many pens?", ["4 + 3 = 7", "The answer is 7"]),
         ("Empty?", [])]
QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
CHECKPOINTS = ("math-shepherd", "Qwen2ForProcessRewardModel", "Qwen2ForTokenClassification")


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("byo")
    paths = {"math-shepherd": make_tiny_math_shepherd(root / "ms")}
    for arch in CHECKPOINTS[1:]:
        paths[arch] = make_tiny_qwen_prm(root / arch, arch)
    return paths


def _fmt(name: str) -> str:
    return "math-shepherd" if name == "math-shepherd" else "qwen-prm"


@pytest.fixture(scope="module")
def hf_scores(ckpts):
    from prm_training.load import load_prm

    return {name: load_prm(path, threads=1, prm_format=_fmt(name)).score_batch(ITEMS) for name, path in ckpts.items()}


@pytest.fixture(scope="module")
def vllm_scorers(ckpts):
    """One vLLM engine per checkpoint, kept alive for the module (see conftest._finalize_vllm_engines)."""
    pytest.importorskip("vllm")
    from prm_training.load import load_prm

    return {name: load_prm(path, backend="vllm", prm_format=_fmt(name)) for name, path in ckpts.items()}


def test_math_shepherd_reads_good_over_bad_at_each_tag(ckpts, hf_scores):
    """Math-Shepherd's published usage: f"{question} {output}", steps closed by " ки", softmax over [+, -]."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = ckpts["math-shepherd"]
    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()
    plus, minus, tag = (tok.convert_tokens_to_ids(t) for t in ("+", "-", "ки"))
    for (question, steps), got in zip(ITEMS[:2], hf_scores["math-shepherd"]):
        text = f"{question} " + "\n".join(f"{s} ки" for s in steps)
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            logits = model(ids).logits[0][:, [plus, minus]]
        at_tags = (ids[0] == tag).nonzero().flatten()
        want = logits.softmax(-1)[at_tags, 0]
        assert got == pytest.approx(want.tolist(), abs=1e-5)
        before = logits.softmax(-1)[at_tags - 1, 0]
        assert max(abs(a - b) for a, b in zip(got, before.tolist())) > 1e-3  # the tag, not the token before it


@pytest.mark.parametrize("arch", CHECKPOINTS[1:])
def test_qwen_prm_reads_p_positive_at_each_separator(ckpts, hf_scores, arch):
    """Qwen2.5-Math-PRM's published usage: system, user, steps joined by <extra_0> plus a trailing one;
    P(positive) = softmax(logits)[1] at the separators. The reference model is loaded independently."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from prm_training.qwen_prm import process_reward_model_class

    path = ckpts[arch]
    tok = AutoTokenizer.from_pretrained(str(path))
    if arch == "Qwen2ForTokenClassification":
        model = AutoModelForTokenClassification.from_pretrained(str(path), dtype=torch.float32).eval()
    else:
        model = process_reward_model_class().from_pretrained(str(path), dtype=torch.float32).eval()
    sep = tok.convert_tokens_to_ids("<extra_0>")
    for (question, steps), got in zip(ITEMS[:2], hf_scores[arch]):
        messages = [{"role": "system", "content": QWEN_SYSTEM}, {"role": "user", "content": question},
                    {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
        assert text.count("<extra_0>") == len(steps) and text.startswith("<|im_start|>system\nPlease reason")
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            out = model(input_ids=ids)
        logits = (out[0] if isinstance(out, tuple) else out.logits)[0]
        at_sep = (ids[0] == sep).nonzero().flatten()
        assert len(at_sep) == len(steps) == len(got)
        assert got == pytest.approx(logits.softmax(-1)[at_sep, 1].tolist(), abs=1e-5)
        before = logits.softmax(-1)[at_sep - 1, 1]
        assert max(abs(a - b) for a, b in zip(got, before.tolist())) > 1e-3


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_vllm_pooling_runner_matches_transformers(hf_scores, vllm_scorers, name):
    hf = hf_scores[name]
    vl = vllm_scorers[name].score_batch(ITEMS)
    assert [len(s) for s in vl] == [len(s) for s in hf] == [len(steps) for _, steps in ITEMS]
    diffs = [abs(a - b) for x, y in zip(hf, vl) for a, b in zip(x, y)]
    assert max(diffs) < 1e-3, max(diffs)
    assert len({round(x, 4) for s in hf for x in s}) >= 4  # scores differ by position: not a constant head


@pytest.mark.parametrize("backend", ["hf", "vllm"])
def test_long_inputs_are_cut_to_the_steps_that_fit(ckpts, vllm_scorers, backend):
    """score_batch refuses an input past the context; score_fitting scores the steps that fit, exactly as the
    whole solution scores them."""
    from prm_training.load import load_prm

    steps = [f"{k} + 1 = {k + 1}" for k in range(60)]
    path = ckpts["Qwen2ForProcessRewardModel"]
    scorer = vllm_scorers["Qwen2ForProcessRewardModel"] if backend == "vllm" else \
        load_prm(path, prm_format="qwen-prm", threads=1)
    full = scorer.score_batch([("Count up.", steps)])[0]
    short = load_prm(path, prm_format="qwen-prm", threads=1, max_length=200) if backend == "hf" else None
    if short is not None:
        with pytest.raises(ValueError, match="max_length"):
            short.score_batch([("Count up.", steps)])
        cut = short.score_fitting([("Count up.", steps), ("Count up.", steps[:2])])
        assert 0 < len(cut[0]) < len(steps) and len(cut[1]) == 2
        assert cut[0] == pytest.approx(full[:len(cut[0])], abs=1e-5)
    else:
        scorer.max_length, limit = 200, scorer.max_length  # the engine allows more; the cut is the scorer's
        try:
            cut = scorer.score_fitting([("Count up.", steps)])[0]
        finally:
            scorer.max_length = limit
        assert 0 < len(cut) < len(steps)
        assert cut == pytest.approx(full[:len(cut)], abs=1e-3)


def test_format_options_are_checked(ckpts, tmp_path):
    from prm_training.byo_prm import PRMFormat
    from prm_training.load import load_prm

    with pytest.raises(ValueError, match="good_token"):
        PRMFormat("qwen-prm", good_token="+")
    with pytest.raises(ValueError, match="system_prompt"):
        PRMFormat("math-shepherd", system_prompt="Be brief.")
    with pytest.raises(ValueError, match="--prm-step-tag"):
        load_prm(ckpts["Qwen2ForTokenClassification"], prm_format=PRMFormat("qwen-prm", step_tag="<extra_9>"))
    with pytest.raises(ValueError, match="not a single token"):
        load_prm(ckpts["math-shepherd"], prm_format=PRMFormat("math-shepherd", good_token="good"))
    with pytest.raises(ValueError, match="not a token-classification PRM"):
        load_prm(ckpts["math-shepherd"], prm_format="qwen-prm")
    with pytest.raises(ValueError, match="--prm-format"):
        load_prm(ckpts["math-shepherd"])  # no prm_config.json and no format
    # custom tokens: "=" as the good token changes the scores
    other = load_prm(ckpts["math-shepherd"], prm_format=PRMFormat("math-shepherd", good_token="="))
    assert other.score(*ITEMS[0]) != pytest.approx(load_prm(ckpts["math-shepherd"],
                                                            prm_format="math-shepherd").score(*ITEMS[0]))


def test_a_prm_view_loads_anywhere_and_pins_the_content(ckpts, hf_scores, tmp_path):
    from data.provenance import content_sha256
    from prm_training.byo_prm import PRMFormat, write_prm_view
    from prm_training.load import load_prm

    ckpt = shutil.copytree(ckpts["Qwen2ForTokenClassification"], tmp_path / "ckpt")
    view = write_prm_view(ckpt, PRMFormat("qwen-prm"), tmp_path / "view")
    assert write_prm_view(ckpt, PRMFormat("qwen-prm"), view) == view  # a rerun writes the same view
    flat = [x for s in load_prm(view).score_batch(ITEMS) for x in s]
    assert flat == pytest.approx([x for s in hf_scores["Qwen2ForTokenClassification"] for x in s], abs=1e-6)
    before = content_sha256(view)
    weights = ckpt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert content_sha256(view) != before  # the hash reads through the links
    with pytest.raises(ValueError, match="remove the view"):  # the view of another checkpoint
        write_prm_view(ckpts["math-shepherd"], PRMFormat("math-shepherd"), view)


def _cli(*args):
    from pipelines.cli.main import main

    return main(list(args))


def test_eval_prm_processbench_with_each_format_and_backend(ckpts, tmp_path):
    from tests.test_processbench import write_processbench

    bench = write_processbench(tmp_path / "pb.jsonl")
    for name, backend in [("math-shepherd", "hf"), ("Qwen2ForProcessRewardModel", "vllm")]:
        out = tmp_path / f"{name}-{backend}"
        assert _cli("eval-prm", "--prm", str(ckpts[name]), "--prm-format", _fmt(name), "--processbench", str(bench),
                    "--prm-backend", backend, "--out", str(out), "--threads", "1") == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["n"] == 5 and metrics["backend"] == backend and metrics["prm_format"]["name"] == _fmt(name)
        preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
        assert all(len(p["scores"]) == p["n_steps"] for p in preds)


def test_search_and_rl_take_a_third_party_prm(ckpts, tmp_path):
    from data.parquet_io import read_rows

    out = tmp_path / "search"
    assert _cli("search", "--engine", "hf", "--method", "best-of-n", "--n", "2", "--prm", str(ckpts["math-shepherd"]),
                "--prm-format", "math-shepherd", "--limit", "2", "--max-tokens", "64", "--out", str(out),
                "--threads", "1") == 0
    rows = read_rows(out / "results.parquet")
    assert len(rows) == 2 and all(r["score"] is not None and 0 < r["score"] < 1 for r in rows)
    rl = tmp_path / "rl"
    assert _cli("rl", "--prm", str(ckpts["Qwen2ForProcessRewardModel"]), "--prm-format", "qwen-prm", "--out", str(rl),
                "--iterations", "1", "--problems-per-iteration", "2", "--group-size", "2", "--n-train", "2",
                "--heldout-n", "2", "--max-tokens", "48", "--no-progress") == 0
    summary = json.loads((rl / "summary.json").read_text())
    assert summary["iterations_done"] == 1 and 0 < summary["reward"] < 1
    view = json.loads((rl / "prm_view" / "prm_config.json").read_text())
    assert view["prm_format"]["name"] == "qwen-prm" and summary["config"]["prm"] == "prm_view"
    assert _cli("rl", "--prm", "gold", "--prm-format", "qwen-prm", "--out", str(tmp_path / "rl2")) == 2


def test_eval_prm_on_plain_label_runs(ckpts, tmp_path, capsys):
    """A third-party PRM on a label run reads each row's question (plain-format prompts keep it as text)."""
    from prm_training.prm_fixtures import write_label_fixture

    labels = write_label_fixture(tmp_path / "labels", n_problems=3, traces_per_problem=2)
    out = tmp_path / "eval"
    assert _cli("eval-prm", "--prm", str(ckpts["Qwen2ForProcessRewardModel"]), "--prm-format", "qwen-prm",
                "--labels", str(labels), "--split", "all", "--out", str(out), "--threads", "1") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_traces"] == 6 and metrics["n_steps"] == 12 and metrics["truncated_steps"] == 0
    assert metrics["reference"] == "gold" and metrics["label_type"] == "external" and metrics["step_auc"] is not None
    assert _cli("eval-prm", "--prm", str(ckpts["math-shepherd"]), "--prm-format", "math-shepherd",
                "--labels", str(labels)) == 2
    assert "--split all" in capsys.readouterr().err


def test_chat_format_label_rows_cannot_give_a_question():
    from prm_training.prm_eval import question_of_row

    row = {"trace_id": "t7", "prompt": "<|im_start|>user\nQ<|im_end|>\n", "prompt_format": json.dumps({"kind": "chat"})}
    with pytest.raises(ValueError, match="trace t7: field prompt_format"):
        question_of_row(row, "run/labels")


def test_cli_format_list_matches_the_library():
    from pipelines.cli.common import PRM_FORMATS
    from prm_training import byo_prm

    assert PRM_FORMATS == byo_prm.PRM_FORMATS

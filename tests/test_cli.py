import json
import subprocess
import sys

from pipelines.cli.main import main


def test_synth_writes_problems(tmp_path):
    out = tmp_path / "p.jsonl"
    assert main(["synth", "--n", "25", "--seed", "3", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 25
    for row in rows:
        assert set(row) >= {"problem_id", "question", "gold_answer", "gold_steps"}
        assert row["gold_steps"][-1].endswith(f"The answer is {row['gold_answer']}")
    again = tmp_path / "q.jsonl"
    main(["synth", "--n", "25", "--seed", "3", "--out", str(again)])
    assert again.read_text() == out.read_text()


def test_console_script_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "pipelines.cli.main", "--help"], capture_output=True, text=True, check=True)
    for command in ("synth", "train-policy", "generate", "label", "demo", "report", "export", "import"):
        assert command in out.stdout


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1 + 1?", "gold_answer": "2"}\n{"question": "", "gold_answer": "3"}\n')
    code = main(["generate", "--problems", str(bad), "--out", str(tmp_path / "o"), "--engine", "hf"])
    err = capsys.readouterr().err
    assert code == 2 and "bad.jsonl" in err and "question" in err
    assert main(["generate", "--problems", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2


def test_train_policy_chat_makes_a_chat_model_that_the_chat_format_prompts(tmp_path):
    """A few steps of ``train-policy --chat``: the checkpoint carries a ChatML template, so ``auto`` resolves
    to ``chat``, its turn ends at EOS, and the gold steps it learns from are paragraphs with a boxed answer."""
    from transformers import AutoTokenizer

    from labelers.prompter import Prompter
    from rl.policy_sft import PolicyTrainConfig, encode_examples, train_policy

    out = train_policy(tmp_path / "chat", PolicyTrainConfig(steps=3, n_train_problems=200, chat=True, num_threads=1),
                       progress=False)
    tok = AutoTokenizer.from_pretrained(out)
    prompter = Prompter.build("auto", tok, "chat")
    assert prompter.fmt.kind == "chat" and prompter.stops == (tok.eos_token,) == ("<|im_end|>",)
    from data.synthetic import SynthSplit

    problem = SynthSplit().train(1)[0]
    ids, weights = encode_examples(tok, [problem], 0.5, chat=True)[0]
    text = tok.decode(ids)
    assert text.startswith(prompter.question_prompt(problem.question)) and text.endswith("}.<|im_end|>")
    assert "\n\n" in text.split("<|im_start|>assistant\n", 1)[1] and ids[-1] == tok.eos_token_id
    assert weights[0] == 0.5 and weights[-1] == 1.0

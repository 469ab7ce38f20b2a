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

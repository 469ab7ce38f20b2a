"""``TagPRMScorer``: score the steps of a solution with a tag PRM checkpoint on transformers.

>>> # scorer = TagPRMScorer.from_pretrained("runs/prm")
>>> # scorer.score("What is 2 + 3?", ["2 + 3 = 5", "The answer is 5"])  -> [0.97, 0.95]

A tag PRM checkpoint is a normal HF causal-LM directory plus ``prm_config.json``
(``prm_format.PRMConfig``). ``score`` returns one P(good) per step, read at the step tag
that follows it. Search and RL call ``score_batch`` with many (question, steps) pairs;
``prm_training.load.load_prm`` loads any kind of PRM checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from prm_training.prm_format import PRMConfig
from prm_training.scoring import EncodedStepScorer, as_item, fit_ids


class TagPRMScorer(EncodedStepScorer):
    def __init__(self, model, tokenizer, config: PRMConfig, batch_size: int = 32, max_length: int | None = None,
                 prompter=None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.tokens = config.tokens
        self.batch_size = batch_size
        # how a question is written before the steps: the training labels' format, or a third-party
        # format's (byo_prm.MathShepherdPrompter)
        self.prompter = prompter or config.prompter(tokenizer)
        model_max = getattr(model.config, "max_position_embeddings", None) or config.max_length
        self.max_length = min(max_length or model_max, model_max)

    @classmethod
    def from_pretrained(cls, path: str | Path, batch_size: int = 32, threads: int | None = None,
                        max_length: int | None = None, config: PRMConfig | None = None) -> "TagPRMScorer":
        """Load a tag PRM checkpoint (``prm_config.json`` with ``kind: "tag"``)."""
        from prm_training.prm_format import resolve_tokens
        from prm_training.prm_model import load_causal_lm

        if threads:
            import torch

            torch.set_num_threads(threads)
        config = config or PRMConfig.load(path)
        if config.kind != "tag":
            raise ValueError(f"{path}: a {config.kind!r} PRM, not a tag PRM; load it with prm_training.load.load_prm")
        model, tokenizer = load_causal_lm(path)
        found = resolve_tokens(tokenizer, config.tokens.step_tag, config.tokens.good_token, config.tokens.bad_token)
        if found != config.tokens:
            raise ValueError(f"{path}: tokenizer does not match prm_config.json: {found} != {config.tokens}")
        return cls(model, tokenizer, config, batch_size=batch_size, max_length=max_length)

    def _encode(self, item: Any, truncate: bool):
        from prm_training.prm_data import PRMExample
        from prm_training.prm_format import encode_steps

        question, steps = as_item(item)
        if not steps:
            return PRMExample([], [], [])
        ids, positions = encode_steps(self.tokenizer, self.prompter.question_prompt(question), steps, self.tokens,
                                      add_special_tokens=self.prompter.add_special_tokens)
        ids, positions = fit_ids(ids, positions, self.max_length, truncate)
        return PRMExample(ids, positions, [0.0] * len(positions))

    def score_rows(self, rows: Sequence[dict]) -> list[list[float]]:
        """Scores for StepLabels rows (``prompt`` + ``completions``); steps past ``max_length`` are left out."""
        from prm_training.prm_data import PRMExample, make_examples

        examples = []
        for row in rows:
            ex = make_examples([row], self.tokenizer, self.tokens, "hard", self.max_length)
            examples.append(ex[0] if ex else PRMExample([], [], []))
        return self._score(examples)

    def _score(self, examples) -> list[list[float]]:
        from prm_training.prm_model import score_examples

        scored = [e for e in examples if e.tag_positions]
        results = iter(score_examples(self.model, scored, self.tokens, self.tokenizer.pad_token_id, self.batch_size))
        return [next(results) if e.tag_positions else [] for e in examples]

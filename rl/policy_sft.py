"""Train the embedded tiny policy: a small Llama on the synthetic task (``prm-factory train-policy``).

Loss covers the question tokens too (at ``question_loss_weight``): without it the model
learns the format but never learns to copy numbers from the question (DESIGN.md).
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data.prompt_format import build_prompt, solution_text
from data.synthetic import SynthConfig, SynthSplit, boxed_steps


@dataclass
class PolicyTrainConfig:
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4  # head_dim = hidden / heads must be >= 32 for vLLM on CPU
    intermediate_size: int = 352
    vocab_size: int = 320
    max_position_embeddings: int = 512
    steps: int = 4000
    batch_size: int = 16
    lr: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    question_loss_weight: float = 0.5
    n_train_problems: int = 40000
    seed: int = 0
    num_threads: int = 2
    snapshot_every: int = 0  # also save ``out_dir/step-N`` every N steps (0: only the final model)
    stop_after: int = 0  # stop after this many steps of the ``steps``-long schedule (0: run it all)
    # Fraction of training solutions with one wrong result whose later steps continue from the
    # written value (loss masked on the wrong step). 0 reproduces the shipped policy.
    error_propagation_prob: float = 0.0
    # A chat model: ChatML turns, the question with the default instruction as the user turn, one step per
    # paragraph ending with "The answer is \\boxed{N}." (the path real instruct models take).
    chat: bool = False
    synth: SynthConfig = field(default_factory=SynthConfig)

    def __post_init__(self):
        if self.hidden_size // self.num_heads < 32:
            raise ValueError("PolicyTrainConfig: head_dim (hidden_size / num_heads) must be >= 32 for vLLM on CPU")


def _lr_at(step: int, cfg: PolicyTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def training_solutions(problems, error_propagation_prob: float, seed: int) -> list[tuple[list[str], int | None]]:
    """Each problem's training steps and the index of a step whose loss is masked (None: none)."""
    from data.synthetic import error_propagation_example

    rng = random.Random(f"error-propagation:{seed}")
    solutions = []
    for p in problems:
        corrupted = error_propagation_example(p, rng) if rng.random() < error_propagation_prob else None
        solutions.append(corrupted if corrupted else (list(p.gold_steps), None))
    return solutions


def encode_examples(tokenizer, problems, question_weight: float, error_propagation_prob: float = 0.0, seed: int = 0,
                    chat: bool = False):
    """Token ids and per-token loss weights: ``question_weight`` on the prompt, 1 on the solution and its
    end (EOS, or the end of the assistant's turn), 0 on a deliberately wrong step."""
    prompter = _prompter(tokenizer, chat)
    examples = []
    for p, (steps, masked) in zip(problems, training_solutions(problems, error_propagation_prob, seed)):
        steps = boxed_steps(steps) if chat else steps
        ids = tokenizer(prompter.question_prompt(p.question), add_special_tokens=not chat)["input_ids"]
        weights = [question_weight] * len(ids)
        for i, step in enumerate(steps):
            text = step + (prompter.delimiter if i < len(steps) - 1 else "")
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids += piece
            weights += [0.0 if i == masked else 1.0] * len(piece)
        ids.append(tokenizer.eos_token_id)
        weights.append(1.0)
        examples.append((ids, weights))
    return examples


def _prompter(tokenizer, chat: bool):
    from labelers.prompter import Prompter

    return Prompter.build("chat", tokenizer, "tiny-policy") if chat else Prompter.plain()


def training_texts(problems, chat: bool) -> list[str]:
    """What the tokenizer is trained on: each prompt and solution as the policy will see them."""
    if not chat:
        return [build_prompt(p.question) + solution_text(p.gold_steps) for p in problems]
    from data.prompt_format import DEFAULT_INSTRUCTION

    return [f"{p.question}\n\n{DEFAULT_INSTRUCTION}\n" + solution_text(boxed_steps(p.gold_steps), "\n\n")
            for p in problems]


def train_policy(out_dir: str | Path, cfg: PolicyTrainConfig | None = None, progress: bool = True) -> Path:
    """Train from scratch and save an HF checkpoint (safetensors + tokenizer) to ``out_dir``."""
    import torch
    from tqdm import tqdm
    from transformers import LlamaConfig, LlamaForCausalLM

    from prm_training.optim import adamw
    from prm_training.tokenizer_build import build_tokenizer

    cfg = cfg or PolicyTrainConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.num_threads)
    out_dir = Path(out_dir)
    problems = SynthSplit(cfg=cfg.synth).train(cfg.n_train_problems)
    tokenizer = build_tokenizer(training_texts(problems, cfg.chat), cfg.vocab_size, chat=cfg.chat)
    examples = encode_examples(tokenizer, problems, cfg.question_loss_weight, cfg.error_propagation_prob, cfg.seed,
                               cfg.chat)

    model_cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_position_embeddings, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(model_cfg)
    optimizer = adamw(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    start = time.time()
    total = min(cfg.steps, cfg.stop_after) if cfg.stop_after else cfg.steps
    bar = tqdm(total=total, desc="train-policy", disable=not progress)

    def after_step(step: int, loss: float) -> None:
        bar.update(1)
        if step % 25 == 1:
            bar.set_postfix(loss=f"{loss:.3f}")
        if cfg.snapshot_every and step % cfg.snapshot_every == 0 and step < total:
            _save(model, tokenizer, out_dir / f"step-{step}")

    sft_loop(model, optimizer, examples, tokenizer.pad_token_id, generator, cfg.batch_size, range(total),
             lr_at=lambda step: _lr_at(step, cfg), after_step=after_step)
    bar.close()
    _save(model, tokenizer, out_dir)
    meta = {"train_config": asdict(cfg), "train_seconds": round(time.time() - start, 1),
            "parameters": sum(p.numel() for p in model.parameters())}
    (out_dir / "training_meta.json").write_text(json.dumps(meta, indent=2, default=str))
    return out_dir


def sft_loop(model, optimizer, examples: list[tuple[list[int], list[float]]], pad_id: int, generator,
             batch_size: int, steps: range, lr_at=None, grad_clip: float = 1.0, after_step=None) -> None:
    """The supervised loop of policy SFT and RFT: for each step in ``steps``, a batch drawn with replacement
    from ``generator`` (so a resumed run draws what an uninterrupted one would), ``weighted_lm_loss``,
    the learning rate ``lr_at(step)`` when given, one ``optimizer_step``; then ``after_step(step + 1, loss)``."""
    import torch

    from prm_training.optim import optimizer_step, set_lr

    for step in steps:
        model.train()
        idx = torch.randint(len(examples), (batch_size,), generator=generator).tolist()
        loss = weighted_lm_loss(model, [examples[i] for i in idx], pad_id)
        if lr_at is not None:
            set_lr(optimizer, lr_at(step))
        value = optimizer_step(optimizer, loss, grad_clip)
        if after_step is not None:
            after_step(step + 1, value)


def weighted_lm_loss(model, batch: list[tuple[list[int], list[float]]], pad_id: int):
    """Next-token cross-entropy of ``(token ids, per-token weights)`` examples, right-padded into one batch:
    the weighted mean over the target tokens (a token's weight is the weight of the token predicted)."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id)
    weights = torch.zeros((len(batch), width))
    attention = torch.zeros_like(input_ids)
    for row, (ids, w) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        weights[row, : len(w)] = torch.tensor(w, dtype=torch.float32)
        attention[row, : len(ids)] = 1
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
    token_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), input_ids[:, 1:].reshape(-1), reduction="none"
    ).view(len(batch), -1)
    target_w = weights[:, 1:]
    return (token_loss * target_w).sum() / target_w.sum()


def _save(model, tokenizer, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)

"""A tiny byte-level BPE tokenizer for the synthetic task, saved as a normal HF tokenizer.

Digits are split one per token, which is what lets a tiny model learn column arithmetic.
"""
from __future__ import annotations

from typing import Iterable

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
STEP_TAG = "ки"  # the Math-Shepherd step tag, one token, used by the PRM


def build_tokenizer(texts: Iterable[str], vocab_size: int = 320, chat: bool = False):
    """Train BPE on ``texts`` and wrap it as a ``PreTrainedTokenizerFast`` (BOS added to every input). With
    ``chat``, ChatML turn markers are special tokens, the template is ChatML and the end of a turn is EOS."""
    from data.prompt_format import CHATML_SPECIAL_TOKENS, CHATML_TEMPLATE

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # one slot is kept for the step tag
        special_tokens=[PAD, BOS, EOS, *(CHATML_SPECIAL_TOKENS if chat else ())],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    eos = CHATML_SPECIAL_TOKENS[1] if chat else EOS
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=eos, pad_token=PAD)
    fast.add_tokens([STEP_TAG])
    if chat:
        fast.chat_template = CHATML_TEMPLATE
    return fast

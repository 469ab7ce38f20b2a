"""PRM loss and head: soft targets stay float, and only the step-tag positions carry loss."""
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from prm_training.prm_format import PRMTokens  # noqa: E402
from prm_training.prm_model import good_probability, pair_logits, soft_bce_loss  # noqa: E402

TOKENS = PRMTokens("ки", 9, "+", 3, "-", 5)


def _grad_wrt_margin(target: float) -> float:
    logits = torch.tensor([[0.4, -0.2]], requires_grad=True)
    soft_bce_loss(logits, torch.tensor([target])).backward()
    return logits.grad[0, 0].item()


def test_soft_target_gives_its_own_gradient():
    g0, g03, g1 = (_grad_wrt_margin(p) for p in (0.0, 0.3, 1.0))
    q = torch.tensor([0.4, -0.2]).softmax(-1)[0].item()
    assert g03 == pytest.approx(q - 0.3, abs=1e-6)  # d loss / d logit(good) = q - p
    assert g0 == pytest.approx(q, abs=1e-6) and g1 == pytest.approx(q - 1.0, abs=1e-6)
    assert len({round(g0, 6), round(g03, 6), round(g1, 6)}) == 3


def test_soft_loss_is_minimal_at_the_target_and_hard_is_cross_entropy():
    p = torch.tensor([0.3])
    margins = torch.linspace(-4, 4, 801)
    losses = [soft_bce_loss(torch.stack([m, torch.tensor(0.0)])[None], p).item() for m in margins]
    best_q = torch.sigmoid(margins[int(torch.tensor(losses).argmin())]).item()
    assert best_q == pytest.approx(0.3, abs=0.01)
    logits = torch.randn(6, 2)
    hard = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    ce = torch.nn.functional.cross_entropy(logits, (1 - hard).long())  # class 0 = good
    assert soft_bce_loss(logits, hard).item() == pytest.approx(ce.item(), abs=1e-6)


class _FakeLM(torch.nn.Module):
    """Hidden states are a leaf parameter, so their gradient shows which positions the loss reads."""

    def __init__(self, batch, width, hidden=8, vocab=12):
        super().__init__()
        self.hidden = torch.nn.Parameter(torch.randn(batch, width, hidden))
        self.head = torch.nn.Linear(hidden, vocab, bias=False)

    def get_decoder(self):
        return lambda input_ids, attention_mask: SimpleNamespace(last_hidden_state=self.hidden)

    def get_output_embeddings(self):
        return self.head


def test_only_tag_positions_carry_loss():
    torch.manual_seed(0)
    input_ids = torch.tensor([[1, 4, 9, 6, 9, 0], [1, 7, 7, 9, 0, 0]])
    tag_mask = input_ids == TOKENS.step_tag_id
    model = _FakeLM(*input_ids.shape)
    logits = pair_logits(model, input_ids, torch.ones_like(input_ids), tag_mask, TOKENS)
    assert logits.shape == (3, 2)
    soft_bce_loss(logits, torch.tensor([0.3, 0.9, 0.0])).backward()
    touched = model.hidden.grad.abs().sum(-1) > 0
    assert torch.equal(touched, tag_mask)
    # only the good and bad rows of the LM head receive gradient
    rows = (model.head.weight.grad.abs().sum(-1) > 0).nonzero().flatten().tolist()
    assert rows == [TOKENS.good_token_id, TOKENS.bad_token_id]


def test_pair_logits_match_the_full_lm_head_softmax():
    torch.manual_seed(1)
    input_ids = torch.tensor([[1, 9, 2, 9]])
    model = _FakeLM(1, 4)
    tag_mask = input_ids == TOKENS.step_tag_id
    q = good_probability(pair_logits(model, input_ids, torch.ones_like(input_ids), tag_mask, TOKENS))
    full = model.head(model.hidden)[tag_mask][:, [TOKENS.good_token_id, TOKENS.bad_token_id]].softmax(-1)[:, 0]
    assert torch.allclose(q, full)

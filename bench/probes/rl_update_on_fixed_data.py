"""Probe: the RL loop's PPO loss (``policy_gradient.policy_loss``, ratio 1, tempered log-probabilities)
trained on a fixed set of verified samples, to tell the update rule apart from the data it sees.

Data: an ``rft`` run's ``kept.jsonl`` (``prm-factory rft --out runs/rft/plain``): correct samples with
no false equation, 4 samples per problem drawn from the embedded policy at T = 0.7.

    python bench/probes/rl_update_on_fixed_data.py T BETAS STEPS MODE NP,SP,BS [WEIGHTS] [KL]

- MODE ``iid``: BS samples drawn at random per step. ``grouped``: NP problems per step, SP samples of
  each. ``blocked``: NP problems held for SP consecutive steps, one random sample of each per step
  (the structure of one RL iteration with ``--stratify``).
- WEIGHTS ``one`` (advantage 1) or ``grpo_nonzero``: GRPO's positive advantage sqrt((1 - p) / p) with
  p = kept / 4, problems with p = 1 dropped.
- ``LOOP_PROBLEMS=1`` keeps only the 960 problems that 15 RL iterations of 64 problems draw.

Prints held-out greedy accuracy (300 problems). Session 5's figures are in docs/rl.md.
"""
import sys, json, torch, random, os
from transformers import AutoModelForCausalLM, AutoTokenizer
from pipelines import rl
from prm_training.policy_gradient import policy_loss, token_logprobs
from data.synthetic import SynthSplit
torch.set_num_threads(2)
T, betas, steps, per_problem = float(sys.argv[1]), tuple(map(float, sys.argv[2].split(","))), int(sys.argv[3]), sys.argv[4]
NP, SP, BS = (int(x) for x in sys.argv[5].split(","))
path = "data/assets/tiny_policy"
tok = AutoTokenizer.from_pretrained(path); tok.pad_token = tok.pad_token or tok.eos_token
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
rows = [json.loads(l) for l in open(os.environ.get("KEPT", "runs/rft/plain/kept.jsonl"))][1:]
if os.environ.get("LOOP_PROBLEMS"):
    _tr = SynthSplit().train(2000)
    _ids = {_tr[i].problem_id for it in range(15) for i in rl.problem_schedule(2000, 64, it, 0)}
    rows = [r for r in rows if r["problem_id"] in _ids]
    print("rows on the loop's problems", len(rows), "problems", len({r["problem_id"] for r in rows}))
samples = []
for r in rows:
    ids, st = rl.tokenize_completion(tok, r["completion"], True)
    s = rl.Sample(0, tok(r["prompt"])["input_ids"], ids, st, r["completion"], [], True)
    s.advantages = [1.0] * len(ids); s.pid = r["problem_id"]; samples.append(s)
WEIGHTS = sys.argv[6] if len(sys.argv) > 6 else "one"
if WEIGHTS != "one":  # GRPO's positive weights: kept k of 4 -> p = k/4, weight sqrt((1-p)/p), 0 when p = 1
    count = {}
    for s in samples: count[s.pid] = count.get(s.pid, 0) + 1
    for s in samples:
        p = count[s.pid] / 4
        w = ((1 - p) / p) ** 0.5
        s.advantages = [w] * len(s.advantages)
    if WEIGHTS == "grpo_nonzero":
        samples = [s for s in samples if s.advantages[0] > 0]
    print("samples with weight > 0:", sum(s.advantages[0] > 0 for s in samples), "of", len(samples))
KL = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
ref = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
g = torch.Generator().manual_seed(0)
if per_problem in ("grouped", "blocked"):  # minibatches like the RL loop: few problems, several samples each
    byp = {}
    for s in samples: byp.setdefault(s.pid, []).append(s)
    keys = list(byp)
    random.Random(0).shuffle(keys)
opt = torch.optim.AdamW(model.parameters(), lr=2e-4, betas=betas, weight_decay=0.0)
for step in range(steps):
    if per_problem in ("grouped", "blocked"):
        idx = torch.randint(len(keys), (NP,), generator=g).tolist()
        batch = [s for k in idx for s in byp[keys[k]][:SP]]
    else:
        batch = [samples[i] for i in torch.randint(len(samples), (BS,), generator=g).tolist()]
    ids, attn, mask, adv = rl._collate(batch, tok.pad_token_id)
    lp = token_logprobs(model, ids, attn, T)
    with torch.no_grad():
        lref = token_logprobs(ref, ids, attn, T) if KL else lp.detach()
    loss = policy_loss(lp, lp.detach(), lref, adv, mask, clip=0.2, kl_coef=KL)["loss"]
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
print(sys.argv[1:], "heldout greedy", rl.greedy_accuracy(model, tok, SynthSplit().heldout(300), 200), flush=True)

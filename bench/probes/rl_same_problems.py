"""Probe: the RL loop's samples against RFT's samples on the same problems, trained the same way.

Data: the loop's samples cached by ``rl_loop_samples.py`` (``GROUP_SIZE=4``: 15 iterations x 64 problems
x G = 4 from the embedded policy, outcome reward, ``--check-arithmetic --negative-scale 0``), and
``runs/rft/plain/kept.jsonl`` (4 vLLM samples per problem, correct ones kept). For each iteration, only the
problems with some but not all samples correct count, each sample weighted by GRPO's positive advantage.
Training: 8 steps per iteration (``STEPS``), each step one random sample of every such problem, the loop's
loss at ratio 1, no KL, AdamW lr 2e-4. ``MERGE=k`` joins k consecutive iterations into one block.

    python bench/probes/rl_same_problems.py loop|rft [STEPS]

Prints held-out greedy accuracy (300 problems). Session 6's figures are in docs/rl.md.
"""
import sys, os, json, pickle, random, collections, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from pipelines import rl
from prm_training.policy_gradient import policy_loss, token_logprobs
from data.synthetic import SynthSplit
torch.set_num_threads(2)
source = sys.argv[1]; steps_per_it = int(sys.argv[2]) if len(sys.argv) > 2 else 8
path = "data/assets/tiny_policy"
tok = AutoTokenizer.from_pretrained(path); tok.pad_token = tok.pad_token or tok.eos_token
iters = pickle.load(open("/tmp/loopdata_g4.pkl", "rb"))
probs = SynthSplit().train(2000)
rft = collections.defaultdict(list)
for l in list(open("runs/rft/plain/kept.jsonl"))[1:]:
    r = json.loads(l); rft[r["problem_id"]].append(r)
same = differ = 0  # every correct loop sample's text, against RFT's kept texts of the same problem
for it, samples in enumerate(iters):
    batch = [probs[i] for i in rl.problem_schedule(2000, 64, it, 0)]
    for s in samples:
        texts = {r["completion"] for r in rft.get(batch[s.group].problem_id, [])}
        if s.correct and not s.false_steps and texts:
            same += s.text in texts; differ += s.text not in texts
print("correct loop samples whose text RFT also kept:", same, "other texts:", differ, flush=True)
blocks = []
for it, samples in enumerate(iters):
    batch = [probs[i] for i in rl.problem_schedule(2000, 64, it, 0)]
    byp = collections.defaultdict(list)
    if source == "loop":
        for s in samples:
            if s.advantages[0] > 0:
                byp[s.group].append((s, s.advantages[0]))
    else:
        for g, p in enumerate(batch):
            rows = rft.get(p.problem_id, [])
            q = len(rows) / 4
            if 0 < q < 1:
                for r in rows:
                    ids, st = rl.tokenize_completion(tok, r["completion"], True)
                    s = rl.Sample(g, tok(r["prompt"])["input_ids"], ids, st, r["completion"], [], True)
                    byp[g].append((s, ((1 - q) / q) ** 0.5))
    blocks.append(byp)
merge = int(os.environ.get("MERGE", "1"))
if merge > 1:  # k consecutive iterations' problems form one block (more problems per step)
    merged = []
    for k in range(0, len(blocks), merge):
        b = {}
        for j, byp in enumerate(blocks[k:k + merge]):
            b.update({(j, g): v for g, v in byp.items()})
        merged.append(b)
    blocks = merged
print(source, "positives per iteration", [sum(len(v) for v in b.values()) for b in blocks],
      "problems", [len(b) for b in blocks], flush=True)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.0)
rng = random.Random(0)
for byp in blocks:
    for _ in range(steps_per_it):
        picked = [rng.choice(v) for v in byp.values()]
        batch = []
        for s, w in picked:
            s.advantages = [w] * len(s.completion_ids); batch.append(s)
        ids, attn, mask, adv = rl._collate(batch, tok.pad_token_id)
        lp = token_logprobs(model, ids, attn, 0.7)
        loss = policy_loss(lp, lp.detach(), lp.detach(), adv, mask, clip=0.2, kl_coef=0.0)["loss"]
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
print(source, steps_per_it, "merge", merge, "heldout greedy", rl.greedy_accuracy(model, tok, SynthSplit().heldout(300), 200), flush=True)

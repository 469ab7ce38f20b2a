"""Probe: the RL loop's own samples (15 iterations x 64 problems x G = 8 from the embedded policy,
outcome reward, ``--check-arithmetic``, ``--negative-scale 0``, stratified minibatches), trained
three ways, to tell the samples apart from the update rule:

    python bench/probes/rl_loop_samples.py loop|probe|positives

``loop``: ``pipelines.rl.ppo_update`` (KL to the starting policy, the PPO ratio). ``probe``: the
same minibatches with ratio 1 and no KL. ``positives``: as ``probe``, zero-advantage samples
dropped from each minibatch. The samples are cached in /tmp/loopdata_gG.pkl; ``GROUP_SIZE=G`` sets G. Prints held-out greedy
accuracy (300 problems). Session 5's figures are in docs/rl.md.
"""
import sys, torch, random, pickle, os
from transformers import AutoModelForCausalLM, AutoTokenizer
from pipelines import rl
from prm_training.policy_gradient import policy_loss, token_logprobs, stratified_order
from data.synthetic import SynthSplit
torch.set_num_threads(2)
mode = sys.argv[1]
G = int(os.environ.get("GROUP_SIZE", "8"))
cfg = rl.RLConfig(reward="outcome", group_size=G, check_arithmetic=True, stratify=True, negative_scale=0.0, problems_per_iteration=64,
                  minibatch_size=64, ppo_epochs=1, lr=2e-4, temperature=0.7, threads=2, progress=False)
tok = AutoTokenizer.from_pretrained(cfg.policy); tok.pad_token = tok.pad_token or tok.eos_token
init = AutoModelForCausalLM.from_pretrained(cfg.policy, dtype=torch.float32).eval()
probs = SynthSplit().train(2000)
cache = f"/tmp/loopdata_g{G}.pkl"
if os.path.exists(cache):
    iters = pickle.load(open(cache, "rb"))
else:
    iters = []
    for it in range(15):
        batch = [probs[i] for i in rl.problem_schedule(2000, 64, it, 0)]
        s = rl.rollout(init, tok, batch, cfg, it); rl.assign_rewards(s, batch, cfg, None)
        iters.append([x for x in s if x.completion_ids])
    pickle.dump(iters, open(cache, "wb"))
model = AutoModelForCausalLM.from_pretrained(cfg.policy, dtype=torch.float32).eval()
opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.0)
pad = tok.pad_token_id
for it, samples in enumerate(iters):
    if mode == "loop":
        rl.ppo_update(model, init, opt, samples, cfg, it, pad)
        continue
    rng = random.Random(it)
    order = stratified_order([s.group for s in samples], rng)
    for k in range(0, len(order), 64):
        batch = [samples[i] for i in order[k:k + 64]]
        if mode == "positives":
            batch = [s for s in batch if s.advantages[0] > 0]
        ids, attn, mask, adv = rl._collate(batch, pad)
        lp = token_logprobs(model, ids, attn, 0.7)
        loss = policy_loss(lp, lp.detach(), lp.detach(), adv, mask, clip=0.2, kl_coef=0.0)["loss"]
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
print(mode, "heldout greedy", rl.greedy_accuracy(model, tok, SynthSplit().heldout(300), 200), flush=True)

"""PRM training, evaluation, export and scoring; the policy SFT and policy-gradient updates."""

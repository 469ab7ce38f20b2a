"""Policy improvement: supervised fine-tuning, rejection-sampling fine-tuning and PPO-clip RL with process rewards."""

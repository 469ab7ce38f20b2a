"""Step splitting, rollout planning strategies and label aggregation. Pure logic: no Ray, files or engines."""

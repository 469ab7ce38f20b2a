"""Records, Parquet IO, loaders and the synthetic task. Imports no torch, vllm or ray."""

"""LightningModules: finetuning of target/oracle, DareU, and the loss-based baselines."""

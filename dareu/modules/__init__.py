"""LightningModules of the unlearning methods: DareU and the loss-based baselines (finetuning of
target and oracle: dareu/finetune.py)."""

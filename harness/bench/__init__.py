"""Measurement on the device: the agent sent to it, statistics, budgets, the host lock, `hil bench`."""

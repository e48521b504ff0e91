"""Preflight: will an artifact run on a device? Facts over a Transport, then pure checks."""

from harness.artifact.verdict import Verdict, print_verdicts
from harness.preflight.checks import evaluate, memory_needed, run_preflight, suggest_target
from harness.preflight.facts import DeviceFacts, RuntimeFacts, gather_facts, parse_facts

__all__ = [
    "DeviceFacts", "RuntimeFacts", "Verdict", "evaluate", "gather_facts", "memory_needed",
    "parse_facts", "print_verdicts", "run_preflight", "suggest_target",
]

"""Diagnose: turn what a failure left (exit status, stderr, Greengrass status and logs, preflight verdicts,
typed errors) into a failure class, a summary, the evidence and advice.

evidence    the Evidence record and its constructors (from a command, an error, a deployment, verdicts)
rules       one specific signature per failure class, with Neo / DLR / Greengrass advice
diagnosis   the Diagnosis and diagnose(): strongest match wins, otherwise "unknown"
"""

from harness.diagnose.diagnosis import Diagnosis, diagnose
from harness.diagnose.evidence import Evidence, from_command, from_deployment, from_error, from_verdicts
from harness.diagnose.rules import CLASSES, UNKNOWN

__all__ = ["CLASSES", "UNKNOWN", "Diagnosis", "Evidence", "diagnose", "from_command", "from_deployment",
           "from_error", "from_verdicts"]

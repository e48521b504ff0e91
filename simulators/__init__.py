"""Stand-ins for hardware and cloud, installed into emulated cores (never imported by the harness)."""

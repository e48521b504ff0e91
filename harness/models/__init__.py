"""Model workloads: host references, agreement rules, sample inputs, output payloads, detector decoding."""

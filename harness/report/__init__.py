"""Run reports: results.json (one record per device × scenario), junit.xml, a self-contained index.html.

``plugin`` collects outcomes and records during the pytest session; ``results`` turns them into the
machine-readable document; ``compare`` checks a run against a baseline; ``render`` writes the page.
"""

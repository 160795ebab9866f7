"""Cloudsplaining-style policy findings: actions allowed without resource constraints, by risk category.

Pure: `rules` (the categories and their data), `resources` (which actions a statement names, and for which its
resources are unconstrained) and `analyse` (one document). `graphiam.queries.findings` applies them to the
graph.
"""

"""Cloudsplaining-style policy findings: actions allowed without resource constraints, by risk category.

Pure: `rules` (the categories and their data) and `analyse` (one document). `graphiam.queries.findings` applies
them to the stored graph.
"""

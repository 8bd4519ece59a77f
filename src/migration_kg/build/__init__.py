"""The build stages: load → check periods → validate → reason → release (``pipeline`` runs them).

Reads sources (ontology/, data/, shapes/) and writes the release; imports only ``core``.
"""

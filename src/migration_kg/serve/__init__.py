"""Query serving over a built release: the read-only engine, query checks and result writers.

Reads release artefacts; imports only ``core`` (never ``build``).
"""

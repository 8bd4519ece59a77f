"""Work across editions and against the report text: the coverage audit.

Reads sources and built releases; imports ``core``, ``build`` and ``serve``.
"""

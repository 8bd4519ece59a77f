"""The build: load → check periods → validate → reason → release, one module or package per stage.

Second in the flow core → **build** → serve → editions → web | cli: imports only ``core``.
``pipeline`` is the one orchestrator; ``loading``, ``periods``, ``validation/``, ``reasoning/``
and ``release/`` are the stages, in that order (an import-linter contract in pyproject.toml keeps
each stage from importing a later one).
"""

"""The HTTP face of the graph: a read-only SPARQL 1.1 Protocol endpoint (``create_app``)."""

from migration_kg.web.app import create_app

__all__ = ["create_app"]

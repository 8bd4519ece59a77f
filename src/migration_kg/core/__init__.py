"""Shared foundations every stage uses: settings, errors, namespaces, formats, named queries.

Bottom of the flow core → build → serve → editions → web | cli; imports nothing above it.
"""

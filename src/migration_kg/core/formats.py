"""The formats the project reads and writes: media type, file extension and library names.

One enum per family, so that no module passes formats around as loose strings.
"""

from __future__ import annotations

from enum import Enum

import pyoxigraph as ox


class RdfFormat(Enum):
    """RDF serialisations for graphs and datasets (release artefacts, CONSTRUCT/DESCRIBE)."""

    TURTLE = ("text/turtle", "ttl", "turtle", False)
    NTRIPLES = ("application/n-triples", "nt", "nt", False)
    JSONLD = ("application/ld+json", "jsonld", "json-ld", True)
    RDFXML = ("application/rdf+xml", "rdf", "xml", False)
    TRIG = ("application/trig", "trig", "trig", True)
    NQUADS = ("application/n-quads", "nq", "nquads", True)

    def __init__(self, media_type: str, extension: str, rdflib_name: str, quads: bool) -> None:
        self.media_type = media_type
        self.extension = extension
        self.rdflib_name = rdflib_name
        self.supports_datasets = quads

    @property
    def oxigraph(self) -> ox.RdfFormat:
        """pyoxigraph's parser/serializer for this format."""
        return _OX_RDF[self]

    @classmethod
    def from_name(cls, name: str) -> RdfFormat:
        """Find a format by enum name, extension, rdflib name or media type (case-insensitive).

        Raises:
            ValueError: listing the accepted names.
        """
        key = name.strip().lower()
        for fmt in cls:
            if key in (fmt.name.lower(), fmt.extension, fmt.rdflib_name, fmt.media_type):
                return fmt
        accepted = ", ".join(f.name.lower() for f in cls)
        raise ValueError(f"unknown RDF format {name!r}; use one of: {accepted}")


class ResultFormat(Enum):
    """SPARQL result formats for SELECT and ASK."""

    JSON = ("application/sparql-results+json", "srj", "json")
    XML = ("application/sparql-results+xml", "srx", "xml")
    CSV = ("text/csv", "csv", "csv")
    TSV = ("text/tab-separated-values", "tsv", "tsv")

    def __init__(self, media_type: str, extension: str, short_name: str) -> None:
        self.media_type = media_type
        self.extension = extension
        self.short_name = short_name

    @property
    def oxigraph(self) -> ox.QueryResultsFormat:
        """pyoxigraph's result writer for this format."""
        return _OX_RESULTS[self]

    @classmethod
    def from_name(cls, name: str) -> ResultFormat:
        """Find a result format by short name, extension or media type (case-insensitive).

        Raises:
            ValueError: listing the accepted names.
        """
        key = name.strip().lower()
        for fmt in cls:
            if key in (fmt.name.lower(), fmt.extension, fmt.short_name, fmt.media_type):
                return fmt
        accepted = ", ".join(f.short_name for f in cls)
        raise ValueError(f"unknown result format {name!r}; use one of: {accepted}")


_OX_RDF = {
    RdfFormat.TURTLE: ox.RdfFormat.TURTLE,
    RdfFormat.NTRIPLES: ox.RdfFormat.N_TRIPLES,
    RdfFormat.JSONLD: ox.RdfFormat.JSON_LD,
    RdfFormat.RDFXML: ox.RdfFormat.RDF_XML,
    RdfFormat.TRIG: ox.RdfFormat.TRIG,
    RdfFormat.NQUADS: ox.RdfFormat.N_QUADS,
}
_OX_RESULTS = {
    ResultFormat.JSON: ox.QueryResultsFormat.JSON,
    ResultFormat.XML: ox.QueryResultsFormat.XML,
    ResultFormat.CSV: ox.QueryResultsFormat.CSV,
    ResultFormat.TSV: ox.QueryResultsFormat.TSV,
}

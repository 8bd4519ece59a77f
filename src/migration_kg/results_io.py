"""SPARQL result writers (JSON, XML, CSV, TSV) for SELECT and ASK results the engine collected.

pyoxigraph can only serialize a whole, unconsumed result iterator; the engine consumes it to
enforce the row cap, so the rows it kept are written here, following the W3C result-format
specifications (sparql11-results-json, rdf-sparql-XMLres, sparql11-results-csv-tsv). Graph
results (CONSTRUCT/DESCRIBE) need no writer: ``pyoxigraph.serialize`` takes a list of triples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

import pyoxigraph as ox

from migration_kg.formats import ResultFormat

Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Rows: TypeAlias = list[tuple[Term | None, ...]]
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def display(term: Term) -> str:
    """A term as a person reads it: IRI, lexical form, ``_:id``, or ``<< s p o >>``."""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value


def write_select(fmt: ResultFormat, variables: list[str], rows: Rows) -> bytes:
    """Serialize SELECT rows (already capped) in ``fmt``."""
    return _WRITERS[fmt](variables, rows)


def write_boolean(fmt: ResultFormat, value: bool) -> bytes:
    """Serialize an ASK answer in ``fmt`` (CSV/TSV define none; pyoxigraph writes the word)."""
    text = "true" if value else "false"
    if fmt is ResultFormat.JSON:
        return b'{"head":{},"boolean":' + text.encode() + b"}"
    if fmt is ResultFormat.XML:
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head></head><boolean>{text}</boolean></sparql>"
        ).encode()
    return text.encode() + b"\n"


def _json_term(term: Term) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {k: _json_term(getattr(term, k)) for k in ("subject", "predicate", "object")},
    }


def _write_json(variables: list[str], rows: Rows) -> bytes:
    bindings = [
        {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
        for row in rows
    ]
    doc = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _xml_escape(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            lang = _xml_escape(term.language)
            return f'<literal xml:lang="{lang}">{_xml_escape(term.value)}</literal>'
        if term.datatype.value != XSD_STRING:
            dt = _xml_escape(term.datatype.value)
            return f'<literal datatype="{dt}">{_xml_escape(term.value)}</literal>'
        return f"<literal>{_xml_escape(term.value)}</literal>"
    parts = "".join(
        f"<{k}>{_xml_term(getattr(term, k))}</{k}>" for k in ("subject", "predicate", "object")
    )
    return f"<triple>{parts}</triple>"


def _write_xml(variables: list[str], rows: Rows) -> bytes:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    out.extend(f'<variable name="{v}"/>' for v in variables)
    out.append("</head><results>")
    for row in rows:
        out.append("<result>")
        out.extend(
            f'<binding name="{v}">{_xml_term(t)}</binding>'
            for v, t in zip(variables, row, strict=True)
            if t is not None
        )
        out.append("</result>")
    out.append("</results></sparql>")
    return "".join(out).encode()


def _csv_cell(term: Term | None) -> str:
    text = "" if term is None else display(term)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(variables: list[str], rows: Rows) -> bytes:
    lines = [",".join(variables)]
    lines.extend(",".join(_csv_cell(t) for t in row) for row in rows)
    return ("\r\n".join(lines) + "\r\n").encode()


def _write_tsv(variables: list[str], rows: Rows) -> bytes:
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines.extend("\t".join("" if t is None else str(t) for t in row) for row in rows)
    return ("\n".join(lines) + "\n").encode()


_WRITERS: dict[ResultFormat, Callable[[list[str], Rows], bytes]] = {
    ResultFormat.JSON: _write_json,
    ResultFormat.XML: _write_xml,
    ResultFormat.CSV: _write_csv,
    ResultFormat.TSV: _write_tsv,
}

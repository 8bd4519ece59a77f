"""SPARQL result writers (JSON, XML, CSV, TSV) for SELECT and ASK results.

``serialize_solutions`` lets pyoxigraph write a result in Rust (several times faster than any
Python writer, and without the GIL) while counting rows in the bytes it streams out, so that the
row cap is still enforced: it gives up as soon as the cap could be exceeded. The engine then
collects the rows itself and cuts them at the cap, and they are written here in Python, following
the W3C result-format specifications (sparql11-results-json, rdf-sparql-XMLres,
sparql11-results-csv-tsv). Graph results (CONSTRUCT/DESCRIBE) need no writer:
``pyoxigraph.serialize`` takes a list of triples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import IO, Any, TypeAlias, cast
from xml.sax.saxutils import escape

import pyoxigraph as ox

from migration_kg.core.formats import ResultFormat

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


# Per format: byte strings that start a row in pyoxigraph's compact output, and how many markers
# the header accounts for. Counting them is exact for XML (``<`` is escaped in content) and TSV
# (newlines are escaped), an upper bound for JSON and CSV (a string may contain the marker): a
# count over the cap only means "collect and cut in Python", never a wrong answer.
_ROW_MARKERS: dict[ResultFormat, tuple[tuple[bytes, ...], int]] = {
    ResultFormat.JSON: ((b"[{", b"},{"), 0),
    ResultFormat.XML: ((b"<result>",), 0),
    ResultFormat.CSV: ((b"\n",), 1),
    ResultFormat.TSV: ((b"\n",), 1),
}


class _GiveUp(Exception):
    """Raised from inside pyoxigraph's writer to abandon the serialization (not an error)."""


class _RowCountingSink:
    """A binary sink for pyoxigraph that counts row markers and gives up past the cap or on stop.

    Chunks arrive as pyoxigraph fills its 8 KiB buffer, so a marker may straddle two chunks: the
    last ``len(marker) - 1`` bytes of the previous chunk are counted with the next one.
    """

    def __init__(self, fmt: ResultFormat, cap: int, stopped: Callable[[], bool]) -> None:
        self.markers, header = _ROW_MARKERS[fmt]
        self.limit = cap + header
        self.stopped = stopped
        self.keep = max(len(m) for m in self.markers) - 1
        self.chunks: list[bytes] = []
        self.count = 0
        self.tail = b""

    def write(self, chunk: bytes) -> int:
        data = bytes(chunk)
        window = self.tail + data
        self.count += sum(window.count(m) for m in self.markers)
        self.tail = window[-self.keep :]
        self.chunks.append(data)
        if self.count > self.limit or self.stopped():
            raise _GiveUp
        return len(data)

    def flush(self) -> None:
        """pyoxigraph flushes at the end; everything is already kept."""


def serialize_solutions(
    solutions: ox.QuerySolutions, fmt: ResultFormat, cap: int, stopped: Callable[[], bool]
) -> bytes | None:
    """Write an unconsumed result natively; None if it may exceed ``cap`` rows or was stopped.

    None means the iterator is spent and the caller must evaluate again and collect rows itself
    (which also decides ``truncated``). Errors raised while evaluating propagate unchanged.
    """
    if not _native_counting_works(fmt):
        return None
    sink = _RowCountingSink(fmt, cap, stopped)
    try:
        solutions.serialize(cast(IO[bytes], sink), format=fmt.oxigraph)
    except _GiveUp:
        return None
    return b"".join(sink.chunks)


@cache
def _native_counting_works(fmt: ResultFormat) -> bool:
    """Check once that pyoxigraph's output still has the compact shape the markers assume."""
    store = ox.Store()
    for index in range(3):
        node = ox.NamedNode(f"urn:emk:check:{index}")
        store.add(ox.Quad(node, node, ox.Literal(f"{index}"), ox.DefaultGraph()))
    for rows in (0, 1, 3):
        sink = _RowCountingSink(fmt, 10, lambda: False)
        text = f"SELECT ?s ?o WHERE {{ ?s ?p ?o }} ORDER BY ?s LIMIT {rows}"
        solutions = store.query(text)
        assert isinstance(solutions, ox.QuerySolutions)
        solutions.serialize(cast(IO[bytes], sink), format=fmt.oxigraph)
        if sink.count - _ROW_MARKERS[fmt][1] != rows:
            return False
    return True


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

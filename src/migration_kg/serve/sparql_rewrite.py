"""Token-level edits of SPARQL text for a remote store: bound values, and graph names.

A remote store cannot take pyoxigraph's substitutions, so values are bound by an inline
``VALUES`` block at the top of the WHERE group, written from terms' N-Triples forms (never
pasted strings): joined before the rest of the group, it binds the variables as substitution
would for the internal and named queries. A store holding several releases keeps each graph
under a versioned IRI; ``rename_graphs`` swaps IRIs where the text names a graph (after
``GRAPH``, ``FROM`` and ``FROM NAMED``) so that queries written against the release's graph IRIs
read the version being served. Both use the tokenizer of ``query_scan``, so keywords or IRIs
inside strings, comments and names are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urljoin, urlsplit

import pyoxigraph as ox

from migration_kg.serve.query_scan import Token, iri_text, scan_query, tokens

_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "DELETE", "INSERT"})
Row = Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode | None]


def values_block(rows: Sequence[Row]) -> str:
    """``VALUES (?a ?b) { (<x> "y") … }`` for rows over the same variables (None: UNDEF)."""
    names = sorted({name for row in rows for name in row})
    cells = (
        " ".join("UNDEF" if row.get(n) is None else str(row[n]) for n in names) for row in rows
    )
    body = " ".join(f"({line})" for line in cells)
    return f"VALUES ({' '.join('?' + n for n in names)}) {{ {body} }}"


def with_values(text: str, rows: Sequence[Row]) -> str:
    """``text`` with ``rows`` bound: a VALUES block opening its WHERE group.

    The short ``CONSTRUCT WHERE { … }`` form allows only triples in its group, so there the
    block goes after the query (equivalent: every variable is in the pattern).
    """
    if not rows:
        return text
    block = values_block(rows)
    toks = tokens(text)
    brace = _where_brace(toks)
    if brace is None:
        return f"{text.rstrip()}\n{block}\n"
    return f"{text[: brace.end]} {block} {text[brace.end :]}"


def _where_brace(toks: list[Token]) -> Token | None:
    """The ``{`` that opens the WHERE group, or None for the short CONSTRUCT form."""
    depth, form, group_braces = 0, "", 0
    for i, tok in enumerate(toks):
        word = tok.text.upper() if tok.kind == "word" else ""
        if depth == 0 and not form and word in _FORMS:
            form = word
        if depth == 0 and word == "WHERE":
            short = form == "CONSTRUCT" and i > 0 and toks[i - 1].text.upper() == "CONSTRUCT"
            following = toks[i + 1] if i + 1 < len(toks) else None
            if short or following is None or following.text != "{":
                return None
            return following
        if tok.text == "{":
            if depth == 0:
                group_braces += 1
                # without WHERE: the first group (the second for CONSTRUCT, after its template);
                # an update's WHERE is never implicit
                if form not in ("DELETE", "INSERT") and group_braces == (
                    2 if form == "CONSTRUCT" else 1
                ):
                    return tok
            depth += 1
        elif tok.text == "}":
            depth -= 1
    return None


def rename_graphs(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each IRI that names a graph (GRAPH, FROM, FROM NAMED) mapped by ``names``.

    IRIs not in ``names``, variables after GRAPH, and IRIs anywhere else are left as written.
    """
    if not names:
        return text
    scan = scan_query(text)
    base = ""
    edits: list[tuple[Token, str]] = []
    toks = tokens(text)
    for i, tok in enumerate(toks):
        word = tok.text.upper() if tok.kind == "word" else ""
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base = urljoin(base, iri_text(toks[i + 1].text))
        if word not in ("GRAPH", "FROM", "NAMED") or i + 1 >= len(toks):
            continue
        target = toks[i + 1]
        iri = _resolve(target, base, scan.prefixes)
        if iri is not None and iri in names:
            edits.append((target, names[iri]))
    for tok, iri in reversed(edits):
        text = f"{text[: tok.start]}<{iri}>{text[tok.end :]}"
    return text


def absolute_iris(text: str, base_iri: str) -> str:
    """``text`` with every relative IRI written out against ``base_iri`` and the query's BASEs.

    What the embedded engine does with ``base_iri``, done in the text for a store that takes no
    base parameter (Virtuoso also refuses a BASE after its own ``define`` pragmas).
    """
    base = base_iri
    edits: list[tuple[Token, str]] = []
    toks = tokens(text)
    for i, tok in enumerate(toks):
        if tok.kind != "iri":
            continue
        resolved = _against(base, tok.text)
        if not urlsplit(iri_text(tok.text)).scheme:
            edits.append((tok, resolved))
        if i > 0 and toks[i - 1].kind == "word" and toks[i - 1].text.upper() == "BASE":
            base = resolved
    for tok, iri in reversed(edits):
        text = f"{text[: tok.start]}<{iri}>{text[tok.end :]}"
    return text


def _against(base: str, iri_token: str) -> str:
    """RFC 3986 resolution as pyoxigraph does it (urljoin drops an empty ``#``, for one)."""
    if not base:
        return iri_text(iri_token)
    document = f"{iri_token} <urn:x:p> <urn:x:o> .".encode()
    quad = next(iter(ox.parse(document, format=ox.RdfFormat.TURTLE, base_iri=base)))
    return str(quad.subject.value)


def _resolve(tok: Token, base: str, prefixes: Mapping[str, str]) -> str | None:
    if tok.kind == "iri":
        return urljoin(base, iri_text(tok.text))
    if tok.kind == "pname":
        prefix, _, local = tok.text.partition(":")
        if prefix in prefixes and "\\" not in local and "%" not in local:
            return prefixes[prefix] + local
    return None

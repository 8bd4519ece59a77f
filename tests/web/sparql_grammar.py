"""Hypothesis strategies built from the SPARQL 1.1/1.2 grammar, biased towards its edges.

``queries()`` draws whole queries: a prologue (PREFIX, BASE), a form (SELECT with expressions,
aggregates, GROUP BY / HAVING / ORDER BY, ASK, CONSTRUCT, DESCRIBE) and a group pattern built
recursively from the grammar's productions (triples with predicate and object lists, blank-node
lists, collections, property paths, OPTIONAL, UNION, MINUS, GRAPH, FILTER, BIND, VALUES,
EXISTS, sub-SELECTs, SERVICE). Terms cover every lexical form: variables, IRIs with ``\\u``
escapes, prefixed names with ``\\`` escapes, literals with every ECHAR and UCHAR escape, long
strings, language tags, datatypes, numbers, triple terms, and odd Unicode (combining marks,
right-to-left, zero-width, noncharacters, astral planes, NUL).

``edges()`` aims at the limits: one of the recursive constructs of ``deep_queries`` at sizes
around its largest admitted size (and far past it), huge literals and IRIs, many variables,
big VALUES blocks, and mutations (a bracket, quote or escape inserted, the text cut). Sizes are
drawn as numbers and the text is built from them, so that a 100 kB query costs hypothesis a
few bytes of entropy.
"""

from __future__ import annotations

from deep_queries import CONSTRUCTS, FLAT, admitted
from hypothesis import strategies as st

from migration_kg.serve.intake import QueryLimits

EX = "https://w3id.org/eu-migration-kg/id/"
PROLOGUE = "PREFIX ex: <http://e/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
ODD = [
    "\u0301",  # combining acute
    "\u200b",  # zero width space
    "\u202e",  # right-to-left override
    "\ufeff",  # byte order mark
    "\ufffe",  # noncharacter
    "\U0001f600",  # astral plane
    "\u0000",
    "\u00e9",
    "\u4e2d",
    "\u0627\u0644",
    "\r\n",
    "\t",
]
ECHARS = ["\\t", "\\n", "\\r", "\\b", "\\f", '\\"', "\\'", "\\\\"]
# Valid escapes, then invalid ones (a surrogate, past U+10FFFF, NUL and '>' inside an IRI):
# drawn one time in four, so that most queries still parse and reach the evaluator.
GOOD_UCHARS = ["\\u00e9", "\\U0001F600", "\\U0010FFFF", "\\u0022", "\\u0041", "\\u4E2D"]
BAD_UCHARS = ["\\uD800", "\\U00110000", "\\u0000", "\\u003E", "\\u12"]
UCHARS = GOOD_UCHARS * 4 + BAD_UCHARS
PN_ESCAPES = ["\\_", "\\~", "\\.", "\\-", "\\!", "\\$", "\\&", "\\'", "\\(", "\\)", "\\*", "\\+",
              "\\,", "\\;", "\\=", "\\/", "\\?", "\\#", "\\@", "\\%"]  # fmt: skip
FUNCTIONS = ["STR", "LCASE", "UCASE", "STRLEN", "ISIRI", "ISLITERAL", "LANG", "DATATYPE",
             "ABS", "CEIL", "ROUND", "ENCODE_FOR_URI", "MD5", "BOUND"]  # fmt: skip
AGGREGATES = ["COUNT", "SUM", "MIN", "MAX", "AVG", "SAMPLE"]
OPERATORS = ["+", "-", "*", "/", "=", "!=", "<", ">", "<=", ">=", "&&", "||"]

names = st.text("abcxyz_0123456789éß中", min_size=1, max_size=6).filter(lambda s: s[0] != "_")
variables = st.builds(lambda sigil, name: sigil + name, st.sampled_from("?$"), names)
IN_STRINGS = [c for c in ODD if c != "\r\n"]  # a raw line break ends a short string
string_body = st.lists(
    st.one_of(
        st.sampled_from(ECHARS),
        st.sampled_from(UCHARS),
        st.sampled_from(IN_STRINGS),
        st.text(alphabet=st.characters(blacklist_characters="\"'\\\r\n"), max_size=10),
    ),
    max_size=6,
).map("".join)


@st.composite
def literals(draw: st.DrawFn) -> str:
    body = draw(string_body)
    quote = draw(st.sampled_from(['"', "'", '"""', "'''"]))
    text = quote + body + quote
    suffix = draw(
        st.sampled_from(
            [
                "",
                "",
                "@en",
                "@en-GB",
                "@fr--ltr",
                "^^xsd:string",
                "^^ex:t",
                "^^<http://www.w3.org/2001/XMLSchema#integer>",
            ]
        )
    )
    return text + suffix


iris = st.one_of(
    st.sampled_from([f"<{EX}country/italy>", "<http://e/p>", "<a:b>", "<>", "<#x>", "<../x>"]),
    st.lists(
        st.sampled_from([*"abcdefgh-é" * 3, "%20", "\\u00e9", "\\u0000", "\\uD800"]), max_size=4
    ).map(lambda u: f"<http://e/{''.join(u)}>"),
)
prefixed = st.builds(
    lambda local, esc: f"ex:{local}{esc}", names, st.sampled_from(["", *PN_ESCAPES])
)
numbers = st.sampled_from(["0", "-1", "+7", "1.5", ".5", "1e3", "-2.5E-3", "12345678901234567890"])
terms = st.one_of(
    variables, iris, prefixed, literals(), numbers, st.sampled_from(["true", "false", "()", "[]"])
)
objects = st.one_of(
    terms, st.builds(lambda s, p, o: f"<<( {s} {p} {o} )>>", variables, iris, terms)
)


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(variables, iris, prefixed, literals(), numbers, st.sampled_from(["true"]))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(OPERATORS), inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCTIONS), inner),
            st.builds(lambda a: f"!{a}", inner),
            st.builds(
                lambda a, xs: f"{a} IN ({', '.join(xs)})", inner, st.lists(inner, max_size=3)
            ),
            st.builds(
                lambda xs: f"CONCAT({', '.join(xs)})", st.lists(inner, min_size=1, max_size=4)
            ),
            st.builds(lambda a, b, c: f"IF({a}, {b}, {c})", inner, inner, inner),
            st.builds(lambda a, b: f"REGEX(STR({a}), {b})", inner, literals()),
        )

    return st.recursive(leaves, extend, max_leaves=12)


paths = st.recursive(
    st.one_of(iris, prefixed, st.just("a")),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a}/{b}", inner, inner),
        st.builds(lambda a, b: f"({a}|{b})", inner, inner),
        st.builds(lambda a: f"^{a}", inner),
        st.builds(lambda a, m: f"({a}){m}", inner, st.sampled_from("*+?")),
        st.builds(lambda a: f"!({a})", st.one_of(iris, prefixed)),
    ),
    max_leaves=6,
)


@st.composite
def triples(draw: st.DrawFn) -> str:
    subject = draw(st.one_of(variables, iris, st.just("[]"), st.just("[ ex:p 1 ]")))
    pairs = draw(st.lists(st.tuples(st.one_of(variables, paths), st.lists(objects, min_size=1,
                                                                          max_size=3)),
                          min_size=1, max_size=3))  # fmt: skip
    body = " ; ".join(f"{p} {', '.join(o)}" for p, o in pairs)
    if draw(st.booleans()):
        body += f" ; ex:q ({' '.join(draw(st.lists(terms, max_size=4)))})"
    return f"{subject} {body} ."


def groups() -> st.SearchStrategy[str]:
    base = st.one_of(triples(), st.builds(lambda e: f"FILTER({e})", expressions()))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        block = st.builds(lambda xs: "{ " + " ".join(xs) + " }", st.lists(inner, max_size=3))
        return st.one_of(
            st.lists(inner, min_size=1, max_size=4).map(" ".join),
            st.builds(lambda b: f"OPTIONAL {b}", block),
            st.builds(lambda a, b: f"{a} UNION {b}", block, block),
            st.builds(lambda b: f"MINUS {b}", block),
            st.builds(lambda g, b: f"GRAPH {g} {b}", st.one_of(variables, iris), block),
            st.builds(lambda b: f"FILTER NOT EXISTS {b}", block),
            st.builds(lambda e, v: f"BIND({e} AS {v})", expressions(), variables),
            st.builds(
                lambda v, xs: f"VALUES {v} {{ {' '.join(xs)} }}",
                variables,
                st.lists(st.one_of(iris, literals(), numbers, st.just("UNDEF")), max_size=5),
            ),
            st.builds(lambda b: f"{{ SELECT * WHERE {b} LIMIT 3 }}", block),
            st.builds(lambda b: f"SERVICE <http://127.0.0.1:9/sparql> {b}", block),
        )

    return st.recursive(base, extend, max_leaves=10)


@st.composite
def queries(draw: st.DrawFn) -> str:
    """A whole query from the grammar (often invalid in small ways: the parser must say so)."""
    where = "{ " + draw(groups()) + " }"
    form = draw(st.sampled_from(["select", "aggregate", "ask", "construct", "describe"]))
    if form == "select":
        projection = draw(st.one_of(st.just("*"), st.lists(variables, min_size=1, max_size=4)
                                    .map(" ".join)))  # fmt: skip
        head = f"SELECT {draw(st.sampled_from(['', 'DISTINCT ', 'REDUCED ']))}{projection}"
        tail = f" ORDER BY ({draw(expressions())}) LIMIT {draw(st.integers(0, 50))}"
    elif form == "aggregate":
        agg = draw(st.sampled_from(AGGREGATES))
        head = f"SELECT {draw(variables)} ({agg}({draw(expressions())}) AS ?n)"
        tail = f" GROUP BY {draw(variables)} HAVING({draw(expressions())}) LIMIT 20"
    elif form == "ask":
        head, tail = "ASK", ""
    elif form == "construct":
        template = draw(st.lists(st.tuples(st.one_of(variables, iris), st.one_of(variables, iris),
                                           objects), min_size=1, max_size=3))  # fmt: skip
        head = "CONSTRUCT { " + " ".join(f"{s} {p} {o} ." for s, p, o in template) + " }"
        tail = " LIMIT 20"
    else:
        head, tail = f"DESCRIBE {draw(st.one_of(iris, variables))}", " LIMIT 5"
    base = draw(st.sampled_from(["", *["BASE <http://e/base/> "] * 4]))
    return f"{base}{PROLOGUE}{head} WHERE {where}{tail}"


LIMITS = QueryLimits()
_ADMITTED = {name: admitted(build, LIMITS) for name, build in CONSTRUCTS.items()}


@st.composite
def deep(draw: st.DrawFn) -> str:
    """A recursive construct at, just under, just over, or far over its largest admitted size."""
    name = draw(st.sampled_from(sorted(CONSTRUCTS)))
    limit = _ADMITTED[name]
    size = draw(st.one_of(st.integers(max(1, limit - 2), limit + 2), st.sampled_from(
        [limit * 4, limit * 40, 3000, 10_000])))  # fmt: skip
    return CONSTRUCTS[name](size)


@st.composite
def big(draw: st.DrawFn) -> str:
    """Huge literals and IRIs, many variables, big VALUES blocks, long flat lists."""
    size = draw(st.sampled_from([1_000, 30_000, 99_000, 100_001, 400_000]))
    kind = draw(st.sampled_from(["literal", "iri", "variables", "values", "flat", "escapes"]))
    unit = draw(st.sampled_from(["a", "é", "\U0001f600", "\\u00e9", "\u0301"]))
    if kind == "literal":
        return f'SELECT * WHERE {{ BIND("{unit * (size // len(unit))}" AS ?x) }}'
    if kind == "iri":
        return f"ASK {{ <http://e/{'a' * size}> ?p ?o }}"
    if kind == "variables":
        return f"SELECT {' '.join(f'?v{i}' for i in range(size // 8))} WHERE {{ ?s ?p ?o }} LIMIT 1"
    if kind == "values":
        rows = " ".join(f'(<{EX}{i}> "{unit}{i}")' for i in range(size // 40))
        return f"SELECT * WHERE {{ VALUES (?s ?l) {{ {rows} }} }}"
    if kind == "flat":
        name = draw(st.sampled_from(sorted(FLAT)))
        return FLAT[name](size // 6)
    escape = draw(st.sampled_from(ECHARS + UCHARS))
    return f"SELECT * WHERE {{ BIND('{escape * (size // 6)}' AS ?x) }}"


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[str]) -> str:
    """``source`` with a bracket, quote, escape or odd character inserted, or cut short."""
    text = draw(source)
    at = draw(st.integers(0, len(text)))
    insert = draw(st.sampled_from(["{", "}", "(", ")", "[", "<<", ">>", '"', "'", "'''", "#",
                                   "\\", "<", ">", "\\u", ",", ".", ";", *ODD]))  # fmt: skip
    if draw(st.booleans()):
        return text[:at] + insert * draw(st.sampled_from([1, 2, 70, 5000])) + text[at:]
    return text[:at]


def edges() -> st.SearchStrategy[str]:
    """Everything above, in one stream."""
    return st.one_of(queries(), deep(), big(), mutated(queries()), mutated(deep()))

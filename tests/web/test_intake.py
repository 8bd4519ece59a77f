"""Query intake: every limit at its value and one past it, and the stack that makes it safe.

pyoxigraph recurses on the calling thread's stack for every bracket and every element of a
chain; a stack overflow kills the process (issue #19). ``check_query`` refuses what is too
long, too nested, too deep or too large a group before pyoxigraph sees it, and the engine's
threads get a stack for the deepest query admitted. Queries that could crash run in a child
process, so that a crash fails a test instead of ending the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from deep_queries import CONSTRUCTS, FLAT, FLAT_SIZE, admitted

from migration_kg.core.errors import BadRequest, ConfigError, QuerySyntaxError
from migration_kg.core.settings import Settings
from migration_kg.serve.engine import QueryEngine
from migration_kg.serve.intake import (
    DEFAULT_MAX_DEPTH,
    EVALUATION_STACK_BYTES,
    QueryLimits,
    QueryTooLarge,
    check_query,
    evaluation_stack_bytes,
    measure_query,
)
from migration_kg.serve.query_scan import scan_query

HERE = Path(__file__).resolve().parent
LIMITS = QueryLimits()
T = "?s ?p ?o"


def _refusal(text: str, limits: QueryLimits = LIMITS) -> QueryTooLarge:
    with pytest.raises(QueryTooLarge) as caught:
        check_query(text, limits)
    return caught.value


def _child(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(HERE / "deep_queries.py"), *args]
    environment = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)


# --- the three crashes of the issue ------------------------------------------------------


def test_three_thousand_nested_groups_are_refused_by_nesting() -> None:
    text = "SELECT * WHERE " + "{" * 3000 + f" {T} " + "}" * 3000
    error = _refusal(text)
    assert error.limit == "nesting"
    assert str(error).startswith("query nesting deeper than 64 at line 1, column 80")
    assert "EMK_MAX_QUERY_NESTING" in str(error)


def test_ten_thousand_nested_parentheses_are_refused_by_nesting() -> None:
    text = f"SELECT * WHERE {{ {T} FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }"
    assert _refusal(text).limit == "nesting"


def test_a_sum_of_twenty_thousand_terms_is_refused_by_depth() -> None:
    text = f"SELECT * WHERE {{ {T} FILTER(?o = " + " + ".join(["1"] * 20_000) + ") }"
    error = _refusal(text)
    assert error.limit == "depth"
    assert "query deeper than 256 levels at line 1" in str(error)
    assert "EMK_MAX_QUERY_DEPTH" in str(error)


def test_refusals_are_bad_requests_naming_the_query_parameter() -> None:
    error = _refusal("{" * 100)
    assert isinstance(error, BadRequest)
    assert error.parameter == "query"


# --- each limit at its value and one past it -----------------------------------------------


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_each_construct_is_admitted_at_the_limit_and_refused_one_past_it(name: str) -> None:
    build = CONSTRUCTS[name]
    size = admitted(build, LIMITS)
    assert size >= 8, f"{name}: the limits admit only {size}"
    check_query(build(size), LIMITS)
    assert _refusal(build(size + 1)).limit in ("nesting", "depth", "patterns", "negations")


def test_the_limit_value_itself_is_admitted_for_nesting_and_depth() -> None:
    """Exactly 64 brackets and exactly 256 levels pass; 65 and 257 do not."""
    nested = "(" * 64 + "1" + ")" * 64
    assert measure_query(nested).nesting == 64
    check_query(nested, LIMITS)
    assert _refusal("(" * 65 + "1" + ")" * 65).limit == "nesting"
    deep = "SELECT DISTINCT * WHERE { FILTER(1" + " + 1" * 123 + ") }"
    assert measure_query(deep).depth == DEFAULT_MAX_DEPTH
    check_query(deep, LIMITS)
    assert _refusal(deep.replace("(1", "(1 + 1")).limit == "depth"


def test_length_limit_at_its_value_and_one_past_it() -> None:
    limits = QueryLimits(max_length=1_000)
    text = "ASK {}" + " " * 994
    check_query(text, limits)
    error = _refusal(text + " ", limits)
    assert error.limit == "length"
    assert str(error) == "query longer than 1000 characters: 1001 (limit EMK_MAX_QUERY_LENGTH)"


def test_group_size_at_its_value_and_one_past_it() -> None:
    patterns = " ".join(f"?s ?p ?o{i} ." for i in range(47))  # 47 separators + 1
    check_query(f"SELECT * WHERE {{ {patterns} }}", LIMITS)
    error = _refusal(f"SELECT * WHERE {{ {patterns} ?s ?p ?z . }}")
    assert error.limit == "patterns"
    assert "more than 48 triple patterns or joined groups in one group" in str(error)


def test_negations_at_their_limit_and_one_past_it(engine: QueryEngine) -> None:
    """Each ``!(`` over a syntax error doubles the parser's work (found by the edge fuzz: an
    unclosed chain of 62 would never finish). Eight are admitted and fail fast; nine are not."""
    head = f"SELECT * WHERE {{ {T} FILTER("
    for unit in ("!(", "!BOUND(", "!(?o && "):
        with pytest.raises(QuerySyntaxError):
            engine.query(head + unit * 8)  # unclosed: a syntax error under eight negations
        error = _refusal(head + unit * 9)
        assert error.limit == "negations"
        assert str(error).startswith("negations nested deeper than 8 at line 1, column")
    assert measure_query(head + "!BOUND(?a) && !BOUND(?b) && !(?o = 1)) }").negations == 1
    assert measure_query(head + "?o != (1)) }").negations == 0


@pytest.mark.parametrize("name", sorted(FLAT))
def test_flat_constructs_are_bounded_by_length_only(name: str) -> None:
    shape = measure_query(FLAT[name](FLAT_SIZE))
    assert shape.depth < 20, shape
    check_query(FLAT[name](FLAT_SIZE), LIMITS)


def test_real_queries_stay_well_inside_the_limits() -> None:
    """The limits' headroom over what the project's own queries need (README, Security)."""
    root = HERE.parents[1]
    files = [*root.glob("queries/**/*.rq"), *root.glob("src/migration_kg/sparql/*.rq")]
    assert len(files) > 100
    shapes = [measure_query(path.read_text(encoding="utf-8")) for path in files]
    assert max(s.length for s in shapes) * 20 < LIMITS.max_length
    assert max(s.nesting for s in shapes) * 8 < LIMITS.max_nesting
    assert max(s.depth for s in shapes) * 3 < LIMITS.max_depth
    assert max(s.patterns for s in shapes) * 3 < LIMITS.max_patterns
    assert max(s.negations for s in shapes) * 4 < LIMITS.max_negations


# --- the lexer never hides what the parser sees ----------------------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        '"((((((((((("',
        "'''{{{{{{{{{{ \n ((((((('''",
        "# ((((((((((( \n",
        "<http://e/((((((((((>",
        '"""a\\"""(((((((((("""',
    ],
)
def test_brackets_in_strings_comments_and_iris_do_not_count(hidden: str) -> None:
    assert measure_query(f"SELECT * WHERE {{ ?s ?p {hidden} }}").nesting == 1


def test_an_iri_the_parser_may_read_as_a_comparison_counts_as_code() -> None:
    """``?a<(((1)))&&?b>0`` is ``?a < (((1))) && ?b > 0`` to the parser, not an IRI."""
    inner = "(" * 80 + "1" + ")" * 80
    text = f"SELECT * WHERE {{ {T} FILTER(?o<{inner}&&?o>0) }}"
    assert _refusal(text).limit == "nesting"
    assert measure_query(f"SELECT * WHERE {{ ?s ?p <{inner}> }}").nesting == 1


def test_an_unterminated_string_ends_its_line_only() -> None:
    text = "SELECT * WHERE { ?s ?p 'open \n" + "{" * 70 + "}" * 70 + " }"
    assert _refusal(text).limit == "nesting"


def test_an_unterminated_long_string_is_read_as_the_parser_reads_it() -> None:
    """``'''`` without an end is ``''`` and a short string: code after that counts."""
    text = "SELECT * WHERE { FILTER('''a' = " + "(" * 70 + "1" + ")" * 70 + ") }"
    assert _refusal(text).limit == "nesting"


def test_escaped_quotes_in_names_do_not_open_strings() -> None:
    text = "SELECT * WHERE { ?s ex:a\\' " + "{" * 70 + " }" * 70
    assert _refusal(text).limit == "nesting"


def test_values_blocks_prefixes_and_lists_do_not_chain() -> None:
    values = "VALUES (?a ?b) { " + "(<a:x> 1) " * 2000 + "}"
    prefixes = "".join(f"PREFIX p{i}: <http://e/{i}#>\n" for i in range(500))
    shape = measure_query(f"{prefixes}SELECT * WHERE {{ {values} FILTER(?a IN (1, 2, 3)) }}")
    assert shape.depth < 20, shape


def test_the_position_of_a_refusal_is_the_token_past_the_limit() -> None:
    text = "SELECT *\nWHERE {\n  FILTER(" + "1 + " * 300 + "1)\n}"
    assert "at line 3, column" in str(_refusal(text))


def test_the_scan_never_raises_on_iris_urllib_cannot_parse() -> None:
    """``http://a[b`` made urljoin raise ValueError: a 500 found by the edge fuzz."""
    text = "BASE <http://a[b/> PREFIX x: <http://w[3.org/> SELECT * { SERVICE x:y {} }"
    assert scan_query(text).services == ("(a SERVICE target that is not a fixed IRI)",)


def test_scanning_an_unterminated_string_is_linear() -> None:
    """A 50 kB line of ``\\'`` after a quote took the old scanner minutes (quadratic)."""
    text = "SELECT * WHERE { BIND('" + "\\'" * 25_000 + " AS ?x) SERVICE <http://e/> {} }"
    assert scan_query(text).services == ()  # the parser fails at the open string
    measure_query(text)


# --- settings and the stack ------------------------------------------------------------


def test_limits_come_from_settings_and_refuse_unsafe_values() -> None:
    settings = Settings.from_env({"EMK_MAX_QUERY_DEPTH": "512", "EMK_MAX_QUERY_NESTING": "32"})
    limits = QueryLimits.from_settings(settings)
    assert (limits.max_depth, limits.max_nesting) == (512, 32)
    assert limits.stack_bytes == evaluation_stack_bytes(512) > EVALUATION_STACK_BYTES
    for variable, value in (("EMK_MAX_QUERY_DEPTH", "5000"), ("EMK_MAX_QUERY_NESTING", "0")):
        with pytest.raises(ConfigError, match=variable):
            QueryLimits.from_settings(Settings.from_env({variable: value}))


def test_the_engine_checks_before_parsing(engine: QueryEngine) -> None:
    with pytest.raises(QueryTooLarge):
        engine.query("SELECT * WHERE " + "{" * 100 + "}" * 100)


def test_every_construct_at_the_limit_evaluates_in_the_engine(release_dir: Path) -> None:
    """The engine's threads survive the deepest query of every kind the limits admit."""
    names = [*CONSTRUCTS, *FLAT]
    done = _child("engine", str(release_dir), *names)
    finished = [line for line in done.stdout.splitlines() if line.startswith("done ")]
    last = done.stdout.strip().splitlines()[-1:] or [""]
    assert done.returncode == 0, f"child died ({done.returncode}) after {last}: {done.stderr}"
    assert len(finished) == len(names)


def test_without_the_large_stack_the_same_queries_kill_the_process() -> None:
    """The check above can fail: on a 128 KiB thread the deepest admitted groups crash."""
    done = _child("thread", "128", "groups")
    assert done.returncode < 0, done.stdout  # killed by a signal (SIGSEGV)
    assert "done groups" not in done.stdout


def test_raised_limits_raise_the_engine_stack(release_dir: Path) -> None:
    """At the ceilings (nesting 1,000, depth 4,000) ``STR(STR(…))`` nested 998 deep needs
    ~9 MB of stack: more than a default 8 MiB thread has (it crashes there), less than the
    engine's threads get from the same settings."""
    env = {"EMK_MAX_QUERY_DEPTH": "4000", "EMK_MAX_QUERY_NESTING": "1000"}
    done = _child("engine", str(release_dir), "functions", env=env)
    assert done.returncode == 0, done.stderr
    assert _child("thread", "8192", "functions", env=env).returncode < 0


def test_a_remembered_pass_is_remembered_for_its_limits_only() -> None:
    """Short texts that passed are remembered: never for stricter limits, never a refusal."""
    text = "SELECT * WHERE { " + " ".join(f"?s ?p ?o{i} ." for i in range(20)) + " }"
    check_query(text, LIMITS)
    check_query(text, LIMITS)  # remembered
    assert _refusal(text, QueryLimits(max_patterns=10)).limit == "patterns"
    deep = "ASK { " + "{ " * 70 + "}" * 70 + " }"
    assert _refusal(deep).limit == "nesting"
    assert _refusal(deep).limit == "nesting"  # refused again: refusals are not remembered
    assert scan_query(text) is scan_query(text)  # the scan of a short text is remembered too

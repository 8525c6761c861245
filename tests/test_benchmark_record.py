"""The instructor guide's figures from the benchmark records are read from the records.

``book/instructors.md`` quotes ``benchmarks/results/bench_grading.json`` (50 submissions),
``bench_grading_16.json`` (a class of 16, the size the grading-time target names) and
``bench_sandbox.json`` (one submission in and out of the sandbox) through the ``{record}``
role (``book/_ext/vgcourse_records.py``), which the build resolves from the committed record.
Here: the records say what the page's sentences rely on (complete runs, plain nbgrader's
scores, a sandbox cost within the noise); the role gives the value at its key (checked against
the record read directly), refuses a key that is not there, in a real Sphinx build too; every
figure the page quotes resolves; and no figure of a record is typed into the page by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import vgcourse_records as records

from coursekit.assignments import REPO

GUIDE = REPO / "book" / "instructors.md"
RESULTS = REPO / "benchmarks" / "results"
EXTENSIONS = REPO / "book" / "_ext"

#: Each way of grading of the guide's table.
WAYS = ("plain", "batch_1", "batch_2", "batch_2_fresh", "dask_local")
#: ``{record}`spec``` in MyST.
ROLE = re.compile(r"\{record\}`([^`]+)`")
#: The columns of the guide's table: key under ``runs.<way>`` (or the throughput) and format.
COLUMNS = ("runs.{way}.wall_s:.1f", "runs.{way}.submissions_per_min:.2f",
           "throughput_vs_plain.{way}:.2f", "runs.{way}.cpu_s_per_submission:.2f",
           "runs.{way}.cell_s_per_submission:.2f", "runs.{way}.fixed_cpu_s_per_submission:.2f",
           "runs.{way}.scores_equal_plain")


def record(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def guide_specs() -> list[str]:
    return ROLE.findall(GUIDE.read_text())


@pytest.mark.parametrize("name", ["bench_grading.json", "bench_grading_16.json"])
def test_the_record_is_complete_with_plain_scores(name):
    """Every way graded the whole class and gave plain nbgrader's per-cell scores."""
    rec = record(name)
    assert rec["complete"], f"{name}: the run was cut short"
    assert set(rec["runs"]) == set(WAYS)
    for way, run in rec["runs"].items():
        assert run["graded"] == rec["submissions"], (name, way, run["graded"])
        assert run["scores_equal_plain"], (name, way)
        assert run["checksum_warnings"] == 0, (name, way)
    assert record("bench_grading_16.json")["submissions"] == 16


def test_the_sandbox_record_has_the_same_scores_and_a_cost_within_the_noise():
    """The guide's "less than the run-to-run noise": the medians in and out of the sandbox
    differ by less than either range, with the same scores."""
    rec = record("bench_sandbox.json")
    assert rec["same_scores"] and rec["sandboxed"]["statuses"] == ["graded"]
    inside, outside = rec["sandboxed"], rec["unsandboxed"]
    gap = abs(inside["wall_s_median"] - outside["wall_s_median"])
    assert gap < min(inside["wall_s_max"] - inside["wall_s_min"],
                     outside["wall_s_max"] - outside["wall_s_min"]), (inside, outside)


def test_a_figure_is_the_value_at_its_key():
    """The role's text against the record read directly, formatted by Python."""
    rec = record("bench_grading.json")
    plain = rec["runs"]["plain"]

    def figure(spec: str) -> str:
        return records.record_figure(RESULTS, spec)

    assert figure("bench_grading:runs.plain.wall_s:.1f") == f"{plain['wall_s']:.1f}"
    assert figure(" bench_grading : runs['plain'].graded ") == str(plain["graded"])
    assert figure("bench_grading:machine.load_average_at_start[0]:.2f") == (
        f"{rec['machine']['load_average_at_start'][0]:.2f}")
    assert figure("bench_grading:runs.plain.scores_equal_plain") == "yes"
    assert figure("bench_grading:assignment") == "ps1_sigmoid_decay"
    share = rec["import_floor_cpu_s"] / plain["cpu_s_per_submission"]
    assert figure("bench_grading:round(100 * import_floor_cpu_s / "
                  "runs.plain.cpu_s_per_submission, -1):.0f") == f"{round(100 * share, -1):.0f}"
    hours = 10_000 * rec["runs"]["batch_2"]["cpu_s_per_submission"] / 3600
    assert figure("bench_grading:10000 * runs.batch_2.cpu_s_per_submission / 3600:.0f") == (
        f"{hours:.0f}")
    assert figure("bench_grading:-(2 ** 3) // 3 + abs(-1) + max(1, 2) - min(4, 3)") == "-3"


@pytest.mark.parametrize(("spec", "error", "names"), [
    ("bench_grading:runs.nope.wall_s", KeyError, ["'nope'", "runs", "plain"]),
    ("bench_grading:machine.load_average_at_start[7]", KeyError, ["7", "a list of 3"]),
    ("no_such_record:x", ValueError, ["'no_such_record'", "bench_grading"]),
    ("bench_grading", ValueError, ["RECORD:EXPRESSION", "'bench_grading'"]),
    ("bench_grading:__import__('os').getcwd()", ValueError, ["__import__"]),
    ("bench_grading:runs.plain.wall_s if 1 else 0", ValueError, ["key path"]),
    ("bench_grading:runs", ValueError, ["dict"]),
    ("bench_grading:runs.plain.(", ValueError, ["not valid"]),
])
def test_a_bad_spec_is_refused_with_what_it_named(spec, error, names):
    with pytest.raises(error) as raised:
        records.record_figure(RESULTS, spec)
    for name in names:
        assert name in str(raised.value), (spec, str(raised.value))


def test_a_non_string_spec_is_a_type_error():
    with pytest.raises(TypeError, match="spec must be a str"):
        records.record_figure(RESULTS, 3)


def test_every_figure_the_guide_quotes_resolves_and_the_table_quotes_every_way():
    """Each ``{record}`` of the guide resolves; the table quotes each column of each way."""
    specs = guide_specs()
    for spec in specs:
        records.record_figure(RESULTS, spec)  # raises on a missing record or key
    for way in WAYS:
        for column in COLUMNS:
            assert f"bench_grading:{column.format(way=way)}" in specs, (way, column)
    for key in ("submissions", "import_floor_cpu_s:.2f", "scaling_1_to_2_workers:.2f",
                "warm_vs_fresh_kernels:.2f", "work_s_per_submission:.2f",
                "machine.load_average_at_start[0]:.2f"):
        assert f"bench_grading:{key}" in specs, key
    for key in ("throughput_vs_plain.batch_2:.2f", "throughput_vs_plain.dask_local:.2f"):
        assert f"bench_grading_16:{key}" in specs, key
    for where in ("sandboxed", "unsandboxed"):
        for key in ("wall_s_median", "wall_s_min", "wall_s_max"):
            assert f"bench_sandbox:{where}.{key}:.2f" in specs, (where, key)


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, float) else []


def _prose(text: str) -> str:
    """The page without its roles, inline code and code blocks (what is typed as prose)."""
    text = re.sub(r"^```.*?^```", " ", text, flags=re.DOTALL | re.MULTILINE)
    text = ROLE.sub(" ", text)
    return re.sub(r"`[^`]*`", " ", text)


def test_no_figure_of_a_record_is_typed_by_hand():
    """Outside the roles, the page types no decimal figure of a record, and no measured-looking
    figure (a decimal such as a ratio's ``1.79``, a share ``60%``, ``35 ms``) in a paragraph
    that quotes a record (a target such as "towards 4x" is not a measurement)."""
    prose = _prose(GUIDE.read_text())
    # a version (nbgrader 0.9, Podman 4.3, even after a link) is not a figure
    tools = ("nbgrader|Python|PyTorch|torch|Jupyter Book|Podman|Docker|Debian|Chromium|Dask|"
             "SQLAlchemy")
    prose = re.sub(rf"\b({tools})(\]\([^)]*\))?\s+\d+(\.\d+)+", " ", prose)
    words = set(re.findall(r"(?<![\d.])\d+\.\d+(?![\d.])", prose))  # not 127.0.0.1
    for path in sorted(RESULTS.glob("*.json")):
        for value in _numbers(json.loads(path.read_text())):
            typed = {f"{value:.{d}f}" for d in (1, 2)} & words
            assert not typed, (
                f"book/instructors.md types {typed} of {path.name}: quote it with {{record}}")
    for paragraph in GUIDE.read_text().split("\n\n"):
        if "{record}" in paragraph or "benchmarks/results" in paragraph:
            typed = re.findall(r"\d+\.\d+|\d+\s*%|\b\d+ ms\b",
                               _prose(paragraph))
            assert not typed, f"typed by hand in a paragraph quoting a record: {typed}"


@pytest.fixture(scope="module")
def sphinx_build(tmp_path_factory) -> tuple[subprocess.CompletedProcess, str]:
    """One MyST Sphinx build (as the book's) with the extension on a record of its own: a page
    quoting two figures (one in a table) and a page naming a key the record lacks. Returns the
    build and the first page's HTML."""
    root = tmp_path_factory.mktemp("records")
    (root / "results").mkdir()
    (root / "results" / "bench.json").write_text(json.dumps({"runs": {"a": {"s": 1.234}}}))
    src = root / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.append({str(EXTENSIONS)!r})\n"
        "extensions = ['myst_parser', 'vgcourse_records']\nvgcourse_records_dir = '../results'\n"
        "exclude_patterns = ['_build']\n")
    (src / "index.md").write_text(
        "# Good\n\nIt took {record}`bench:runs.a.s:.2f` s.\n\n"
        "| a | b |\n|---|---|\n| {record}`bench:runs.a.s:.1f` s | x |\n\n```{toctree}\nbad\n```\n")
    (src / "bad.md").write_text("# Bad\n\nIt took {record}`bench:runs.b.s:.2f` s.\n")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q",
                           "-b", "html", str(src), str(root / "out")],
                          capture_output=True, text=True, timeout=300)
    return done, (root / "out" / "index.html").read_text()


def test_the_role_writes_the_figure_into_a_built_page(sphinx_build):
    _, html = sphinx_build
    assert re.search(r'<span class="vgcourse-record">1\.23</span> s\.', html), html
    assert re.search(r'<td><p><span class="vgcourse-record">1\.2</span> s</p></td>', html), html


def test_a_missing_key_fails_the_build_naming_it(sphinx_build):
    done, _ = sphinx_build
    assert done.returncode != 0
    assert "bad.md:3" in done.stderr, done.stderr  # where the page names it
    assert "no key 'b' at runs" in done.stderr and "['a']" in done.stderr, done.stderr
    assert "index.md" not in done.stderr, done.stderr

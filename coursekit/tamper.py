"""What makes a submission untrusted (issue 13): a static scan of the student's cells and a
runtime integrity probe, both judged in the trusted grader process.

The tests of an assignment run in the same kernel as the student's code, so anything that code
changes in the kernel (the check helpers, NumPy or torch, IPython's hooks, the caller's frame)
could turn a failing test into a passing one. Two layers keep scores outside the student's reach:

1. **Static scan** (:func:`scan_cells`) of every cell the student can edit (answer cells and
   cells they added), before anything runs. It is a deny-list of the *dynamic features* such
   tampering needs, not of known attacks:

   - imports outside :data:`ALLOWED_IMPORTS` (``sys``, ``inspect``, ``gc``, ``ctypes``,
     ``builtins``, ``IPython``, ``importlib``, ``os``, ``unittest.mock``... are all outside);
   - the names in :data:`DENIED_NAMES` (``eval``, ``exec``, ``getattr``, ``setattr``,
     ``globals``, ``get_ipython``, ``__builtins__``...);
   - any attribute whose name starts with ``_`` (``sys._getframe``, ``__code__``,
     ``__globals__``, ``__class__``, ``__subclasses__``) and the frame and traceback attributes
     (``f_back``, ``tb_frame``...);
   - assigning or deleting an attribute of a module (``np.allclose = ...``,
     ``vgcourse.grading.check_close = ...``, ``torch.Tensor.allclose = ...``);
   - binding a name the tests read (``check_close = lambda *a: None``, ``np = fake``) unless
     the instructor's solution of an answer cell binds it too (the functions the student writes);
   - defining special methods other than ``__init__``/``__repr__``/``__str__`` (an object whose
     ``__eq__`` is always true), or subclassing anything but ``torch.nn.Module``/``object``;
   - IPython magics and shell escapes (they become ``get_ipython()`` calls), except
     ``%matplotlib``.

2. **Runtime integrity probe** (:data:`PROBE`): before the first cell runs, and again before
   every test cell, the grader runs a silent probe in the kernel that fingerprints what the
   tests call (identity and bytecode hash of every function of ``vgcourse.grading``, the NumPy
   and torch comparison functions, ``numpy.testing``, the builtins, ``sys.modules`` entries)
   and IPython's hooks (input and AST transformers, custom exception handlers,
   ``showtraceback``, ``sys.excepthook``, trace functions). The trusted process compares each
   fingerprint with the first one (:func:`probe_findings`); any change flags the submission.
   The probe runs inside the kernel, so on its own it can be fooled, but fooling it needs the
   dynamic features layer 1 refuses: the layers back each other.

Scores are judged from the outputs by nbgrader in the trusted process, the kernel cannot see
``source/``, the gradebook or ``vgcourse/`` writably (coursekit.sandbox), and a flagged
submission scores at most zero on the affected test cells.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

#: Modules (and their submodules) a student's cell may import.
ALLOWED_IMPORTS = frozenset({
    "math", "cmath", "random", "statistics", "itertools", "functools", "collections",
    "typing", "dataclasses", "numbers", "fractions", "decimal", "time", "warnings",
    "contextlib", "copy", "string", "re", "enum", "abc",
    "numpy", "torch", "matplotlib", "vgcourse",
})
#: Names a student's cell may not use at all: they reach around the language.
DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "get_ipython", "__builtins__", "__builtin__", "breakpoint", "memoryview",
    "object.__setattr__", "input", "exit", "quit", "help",
})
#: Attributes that hand out frames, code and tracebacks (besides every ``_``-prefixed one).
DENIED_ATTRIBUTES = frozenset({
    "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace", "tb_frame",
    "tb_next", "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "co_code",
    "register_magic_function", "set_custom_exc", "showtraceback", "input_transformers_post",
    "input_transformers_cleanup", "ast_transformers",
})
#: ``_``-prefixed attributes a student's cell may read (never assign).
READABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__init__", "__doc__"})
#: Special methods a student's class may define.
ALLOWED_DUNDERS = frozenset({"__init__", "__repr__", "__str__"})
#: Base classes a student's class may have (as written).
ALLOWED_BASES = frozenset({"object", "nn.Module", "torch.nn.Module", "Module"})
#: Line magics allowed (rewritten by IPython to get_ipython().run_line_magic('name', ...)).
SAFE_MAGICS = frozenset({"matplotlib"})


@dataclass(frozen=True)
class Finding:
    """One reason not to trust a submission."""

    cell: str  # grade_id of the cell, or "cell <index>" for a cell the student added
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.what}"


def _ipython_to_python(source: str) -> str:
    """The Python IPython itself runs for a cell (magics become get_ipython() calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name a piece of code binds at any level."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _top_level_bindings(tree: ast.Module) -> set[str]:
    """Names a cell binds in the notebook's namespace (not inside its functions)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        else:
            names |= {n for n in _bound_names(stmt)
                      if not _inside_function(stmt, n)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    return names


def _inside_function(stmt: ast.AST, name: str) -> bool:
    """Whether every binding of ``name`` in ``stmt`` sits inside a function or lambda."""
    outer = {n.id for n in _walk_outside_functions(stmt)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
    outer |= {(a.asname or a.name).split(".")[0] for n in _walk_outside_functions(stmt)
              if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    return name not in outer


def _walk_outside_functions(node: ast.AST):
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                          | ast.ClassDef):
            yield from _walk_outside_functions(child)


def _free_names(source: str) -> set[str]:
    """Names a test cell reads without binding them itself."""
    tree = ast.parse(_ipython_to_python(source))
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Load)}
    return loaded - _bound_names(tree)


@dataclass(frozen=True)
class Rules:
    """What the scan of one assignment knows: the names its tests read, the names the
    solutions bind, and the modules its locked cells import."""

    guarded: frozenset[str]  # names tests read: binding them needs a solution doing the same
    allowed_bindings: frozenset[str]  # names a solution cell or an unmarked cell binds
    modules: frozenset[str]  # names bound to modules by imports anywhere in the notebook

    @classmethod
    def from_source(cls, test_sources: list[str], solution_sources: list[str],
                    locked_sources: list[str]) -> Rules:
        guarded: set[str] = set()
        for src in test_sources:
            guarded |= _free_names(src)
        modules: set[str] = set()
        for src in [*locked_sources, *test_sources]:
            tree = ast.parse(_ipython_to_python(src))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update((a.asname or a.name).split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    modules.update(a.asname or a.name for a in node.names)
            guarded |= _top_level_bindings(tree)  # what locked cells set up, tests may use
        allowed: set[str] = set()
        for src in solution_sources:
            allowed |= _top_level_bindings(ast.parse(_ipython_to_python(src)))
        return cls(frozenset(guarded), frozenset(allowed), frozenset(modules))


def _module_aliases(trees: list[ast.AST], modules: set[str]) -> set[str]:
    """``modules`` plus every name assigned a module or one of its attributes
    (``t = torch.Tensor``), and every name the student's own cells import."""
    aliases = set(modules)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                aliases.update((a.asname or a.name).split(".")[0] for a in node.names)
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if (isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr)
                        and isinstance(node.value, ast.Name | ast.Attribute)
                        and _root_name(node.value) in aliases):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    new = {t.id for t in targets if isinstance(t, ast.Name)} - aliases
                    if new:
                        aliases |= new
                        changed = True
    return aliases


def _node_findings(node: ast.AST, aliases: set[str]) -> list[str]:
    """What is wrong with one AST node, in words."""
    found = []
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
            node.module or ""]
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append("a relative import")
        for name in names:
            if name.split(".")[0] not in ALLOWED_IMPORTS:
                found.append(f"imports {name!r} (allowed: {', '.join(sorted(ALLOWED_IMPORTS))})")
        if isinstance(node, ast.ImportFrom):
            found += [f"imports {a.name!r}" for a in node.names
                      if a.name.startswith("_") or a.name == "*"]
    elif isinstance(node, ast.Name) and node.id in DENIED_NAMES:
        found.append(f"uses {node.id!r}")
    elif isinstance(node, ast.Attribute):
        readable = node.attr in READABLE_DUNDERS and isinstance(node.ctx, ast.Load)
        if (node.attr.startswith("_") and not readable) or node.attr in DENIED_ATTRIBUTES:
            found.append(f"uses the attribute {node.attr!r}")
        if isinstance(node.ctx, ast.Store | ast.Del) and _root_name(node.value) in aliases:
            found.append(f"changes {ast.unparse(node)} (an attribute of a module)")
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        if node.name.startswith("__") and node.name not in ALLOWED_DUNDERS:
            found.append(f"defines the special method {node.name!r}")
    elif isinstance(node, ast.ClassDef):
        for base in [*node.bases, *(k.value for k in node.keywords)]:
            if ast.unparse(base) not in ALLOWED_BASES:
                found.append(f"class {node.name} derives from {ast.unparse(base)}")
    return found


def _magic_calls(tree: ast.AST) -> tuple[set[int], list[tuple[int, str]]]:
    """(ids of the ``get_ipython`` names of allowed magics, findings for the others)."""
    allowed, found = set(), []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Call)
                and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "get_ipython"):
            first = node.args[0] if node.args else None
            name = first.value if isinstance(first, ast.Constant) else None
            if node.func.attr == "run_line_magic" and name in SAFE_MAGICS:
                allowed.add(id(node.func.value.func))
            else:
                found.append((node.lineno, f"runs the IPython magic or shell command {name!r}"))
                allowed.add(id(node.func.value.func))
    return allowed, found


def scan_cells(cells: list[tuple[str, str]], rules: Rules) -> list[Finding]:
    """Findings for the student-editable cells, given as (label, source); label is the answer
    cell's grade_id or ``cell N`` for a cell the student added."""
    trees = []
    findings: list[Finding] = []
    for label, source in cells:
        try:
            trees.append((label, ast.parse(_ipython_to_python(source))))
        except SyntaxError:
            # The kernel runs the same transformation and fails the same way: an honest
            # mistake that cannot change any other cell.
            continue
    aliases = _module_aliases([t for _, t in trees], set(rules.modules))
    for label, tree in trees:
        magic_ok, magic_found = _magic_calls(tree)
        findings += [Finding(label, line, what) for line, what in magic_found]
        for node in ast.walk(tree):
            if id(node) in magic_ok:
                continue
            line = getattr(node, "lineno", 0)
            findings += [Finding(label, line, what) for what in _node_findings(node, aliases)]
        rebound = _top_level_bindings(tree) & (rules.guarded - rules.allowed_bindings)
        findings += [Finding(label, 0, f"rebinds {name!r}, which the tests use")
                     for name in sorted(rebound)]
    return sorted(set(findings), key=lambda f: (f.cell, f.line, f.what))


# ---------------------------------------------------------------------------------------------
# Runtime integrity probe
# ---------------------------------------------------------------------------------------------
#: Objects whose identity and bytecode the probe fingerprints: module -> attribute names
#: ("*" = every function the module defines itself).
GUARDED = {
    "vgcourse.grading": ["*"],
    "numpy": ["allclose", "isclose", "array_equal", "asarray", "all", "any", "isfinite",
              "abs", "max", "ndarray"],
    "numpy.testing": ["assert_allclose", "assert_array_equal", "assert_equal",
                      "assert_array_almost_equal"],
    "torch": ["allclose", "isclose", "equal", "is_tensor", "as_tensor", "tensor", "Tensor"],
    "torch.testing": ["assert_close"],
    "builtins": ["isinstance", "len", "abs", "all", "any", "float", "int", "type", "print",
                 "AssertionError", "Exception", "repr", "str", "sum", "max", "min", "round"],
}

PROBE = r'''
def _coursekit_fingerprint():
    import builtins, hashlib, importlib, sys
    out = {}
    def mark(obj):
        code = getattr(obj, "__code__", None)
        digest = hashlib.sha256(code.co_code).hexdigest()[:16] if code else ""
        return [id(obj), id(code), digest]
    for name, attrs in GUARDED.items():
        mod = importlib.import_module(name)
        out[name] = [id(mod), id(sys.modules.get(name)), id(vars(mod))]
        if attrs == ["*"]:
            attrs = sorted(a for a, v in vars(mod).items()
                           if callable(v) and getattr(v, "__module__", "") == name)
        for attr in attrs:
            obj = vars(mod).get(attr)
            out[name + "." + attr] = mark(obj)
            if isinstance(obj, type):
                out[name + "." + attr + ":methods"] = sorted(
                    (k, id(v)) for k, v in vars(obj).items())
    ip = get_ipython()
    cls = type(ip)
    out["ipython"] = [
        [id(f) for f in ip.input_transformers_cleanup],
        [id(f) for f in ip.input_transformers_post],
        [id(f) for f in ip.ast_transformers],
        repr(ip.custom_exceptions), id(ip.CustomTB), sorted(k for k in vars(ip)
        if k in ("showtraceback", "run_cell", "run_ast_nodes", "run_code", "_showtraceback",
                 "showsyntaxerror", "CustomTB", "transform_cell")),
        id(cls.showtraceback), id(cls.run_cell), id(cls.run_code), id(cls.run_ast_nodes),
        id(cls.transform_cell), id(cls._showtraceback),
        {k: [id(f) for f in v] for k, v in ip.events.callbacks.items()},
    ]
    out["sys.displayhook"] = id(sys.displayhook)
    out["sys.gettrace"] = repr(sys.gettrace())
    out["sys.getprofile"] = repr(sys.getprofile())
    out["sys.meta_path"] = [id(f) for f in sys.meta_path]
    out["sys.path_hooks"] = [id(f) for f in sys.path_hooks]
    out["builtins"] = [id(vars(builtins))] + sorted(k for k in vars(builtins))
    return out
'''


def probe_code() -> str:
    """The probe as one silent execution: sets ``_coursekit_probe`` to the fingerprint's JSON."""
    return (f"GUARDED = {GUARDED!r}\n{PROBE}\n"
            "import json as _coursekit_json\n"
            "_coursekit_probe = _coursekit_json.dumps(_coursekit_fingerprint(), sort_keys=True)\n"
            "del GUARDED, _coursekit_fingerprint, _coursekit_json\n")


def probe_findings(events: list[dict]) -> list[tuple[str, str]]:
    """(grade_id of the test cell, reason) for every probe result (``GuardedExecute`` report
    events of kind "probe") that differs from the first one, taken before any student code."""
    probes = [e for e in events if e.get("kind") == "probe"]
    if not probes:
        return []
    baseline = _parse(probes[0].get("result"))
    if baseline is None:
        why = probes[0].get("error") or probes[0].get("result")
        return [(str(probes[0].get("grade_id")),
                 f"the integrity probe could not run before the first cell: {why}"[:300])]
    found = []
    for event in probes[1:]:
        where = str(event.get("grade_id"))
        now = _parse(event.get("result"))
        if now is None:
            found.append((where, f"the integrity probe failed before test cell {where}"))
            continue
        changed = sorted(k for k in baseline.keys() | now.keys()
                         if baseline.get(k) != now.get(k))
        if changed:
            found.append((where, f"before test cell {where}, the student's code had changed "
                          + ", ".join(changed)[:300]))
    return found


def _parse(result: object) -> dict | None:
    """The fingerprint out of a user_expressions repr (a Python str literal of JSON)."""
    if not isinstance(result, str):
        return None
    try:
        return json.loads(ast.literal_eval(result))
    except (ValueError, SyntaxError, TypeError):
        return None

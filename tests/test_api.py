"""The public face of vgcourse: __all__, version, typing, docstrings and their examples."""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import re
import typing
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import vgcourse  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODULES = [
    "vgcourse",
    "vgcourse.activations",
    "vgcourse.data",
    "vgcourse.models",
    "vgcourse.diagnostics",
    "vgcourse.training",
    "vgcourse.plots",
    "vgcourse.grading",
    "vgcourse.claims",
    "vgcourse.interactive",
    "vgcourse.meanfield",
    "vgcourse.variants",
]

EXPECTED_ALL = [
    "ACTIVATION_NAMES",
    "INIT_SCHEMES",
    "OPTIMIZERS",
    "Activation",
    "ClaimError",
    "History",
    "InteractiveFigure",
    "LayerStats",
    "__version__",
    "accuracy",
    "activation_stats",
    "agrees",
    "check_close",
    "check_equal",
    "check_finite",
    "check_shape",
    "check_type",
    "claim",
    "compare",
    "decode_value",
    "encode_value",
    "fact",
    "falsifier",
    "get_activation",
    "gradient_norms",
    "init_weights",
    "interactive_figure",
    "linear_layers",
    "make_circles",
    "make_spiral",
    "mlp",
    "observe",
    "observe_raises",
    "plot_activation_histograms",
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_history",
    "tanh_fixed_point",
    "train",
    "variant_index",
    "variant_params",
]

PUBLIC_CALLABLES = [
    name for name in EXPECTED_ALL if callable(getattr(vgcourse, name)) and name[0].islower()
]


def test_all_is_pinned():
    assert vgcourse.__all__ == EXPECTED_ALL
    for name in vgcourse.__all__:
        assert hasattr(vgcourse, name), name


def test_submodule_all_lists_exist_and_are_exported():
    for module_name in MODULES[1:]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"
            if not name.isupper():
                assert name in vgcourse.__all__, f"{module_name}.{name} is not re-exported"


def test_version_matches_pyproject():
    text = (REPO / "pyproject.toml").read_text()
    assert re.search(rf'(?m)^version = "{re.escape(vgcourse.__version__)}"$', text)
    assert re.search(r'(?m)^requires-python = ">=3.10"$', text)


def test_package_is_typed():
    assert (Path(vgcourse.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("name", PUBLIC_CALLABLES)
def test_public_functions_are_fully_annotated(name):
    fn = getattr(vgcourse, name)
    hints = typing.get_type_hints(fn)
    params = inspect.signature(fn).parameters
    for param in params:
        assert param in hints, f"{name}: parameter {param!r} has no type hint"
    assert "return" in hints, f"{name}: no return annotation"


@pytest.mark.parametrize("name", PUBLIC_CALLABLES + ["Activation", "History", "LayerStats"])
def test_public_names_have_docstrings_with_examples_or_attributes(name):
    doc = inspect.getdoc(getattr(vgcourse, name))
    assert doc, f"{name} has no docstring"
    if name != "LayerStats":
        assert "Examples\n--------" in doc, f"{name}'s docstring has no Examples section"
    else:
        assert "Attributes\n----------" in doc


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} failing example(s) in {module_name}"
    assert result.attempted > 0 or module_name == "vgcourse"


def test_no_print_no_show_no_network_in_the_package():
    for path in Path(vgcourse.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                assert not (isinstance(func, ast.Name) and func.id == "print"), path.name
                assert not (isinstance(func, ast.Attribute) and func.attr == "show"), path.name
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                for banned in ("urllib", "requests", "http", "socket"):
                    assert not any(n.split(".")[0] == banned for n in names), path.name

"""The type stubs describe the extension as it is: every class, method and
property in `_lakefed.pyi` exists, and every public one of the extension is
in the stubs with a docstring."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import lakefed
from lakefed import _lakefed

STUBS = Path(lakefed.__file__).with_name("_lakefed.pyi")


def stub_classes() -> dict[str, set[str]]:
    tree = ast.parse(STUBS.read_text())
    return {
        node.name: {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_stubs_and_extension_agree():
    classes = stub_classes()
    assert set(classes) == {name for name, value in vars(_lakefed).items() if inspect.isclass(value)}
    for name, members in classes.items():
        cls = getattr(_lakefed, name)
        for member in members - {"__init__"}:
            assert hasattr(cls, member), f"{name}.{member} is in the stubs but not in the extension"
        public = {member for member in dir(cls) if not member.startswith("_")}
        assert public <= members, f"{name}: {sorted(public - members)} missing from the stubs"
        for member in public:
            assert getattr(cls, member).__doc__, f"{name}.{member} has no docstring"
    assert (Path(lakefed.__file__).parent / "py.typed").exists()

"""The layers read from the folder list: no import runs from a lower layer to a higher one.

foundation (``monorag/``: types, settings, errors, embed, text, cli_support) < ``index/`` <
``ingest/`` and ``qa/`` (siblings: neither imports the other) < ``eval/`` < ``bench/`` <
``ui/`` (CLI, app).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "monorag": "monorag",
    "index": "monorag.index",
    "ingest": "monorag.ingest",
    "qa": "monorag.qa",
    "eval": "monorag.eval",
    "bench": "monorag.bench",
    "ui": "monorag.ui",
}
RANK = {
    "monorag": 0,
    "monorag.index": 1,
    "monorag.ingest": 2,
    "monorag.qa": 2,
    "monorag.eval": 3,
    "monorag.bench": 4,
    "monorag.ui": 5,
}
GENERIC = {"ingest", "qa", "eval", "bench", "index", "ui"}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and ".".join(parts[:2]) in RANK:
        return ".".join(parts[:2])
    return "monorag"


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((PROJECT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    found["app"] = PROJECT / "app.py"
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module))
            # ``from monorag import ui`` imports the package ``monorag.ui``.
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return out


def _violations() -> list[str]:
    modules = _modules()
    bad = []
    for name, path in modules.items():
        source = "monorag.ui" if name == "app" else _layer(name)
        for line, target in _imports(path):
            top = target.split(".")[0]
            where = f"{path.relative_to(PROJECT)}:{line} imports {target}"
            if top in GENERIC:
                bad.append(f"{where}: a generic top-level name; import it under monorag.")
                continue
            if top != "monorag":
                continue
            layer = _layer(target)
            if RANK[layer] > RANK[source]:
                bad.append(f"{where}: {source} (layer {RANK[source]}) reaches up to {layer}")
            elif RANK[layer] == RANK[source] and layer != source:
                bad.append(
                    f"{where}: {source} and {layer} are siblings and must not import each other"
                )
    return bad


def test_no_import_runs_up_the_layers() -> None:
    assert _violations() == []


def test_the_check_catches_an_upward_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walker itself: a foundation module importing the CLI is reported."""
    fake = tmp_path / "monorag"
    fake.mkdir()
    (fake / "types.py").write_text("from monorag.ui.cli import app\nimport qa.engine\n")
    for folder in FOLDERS:
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "ui" / "cli.py").write_text("")
    (tmp_path / "app.py").write_text("")
    monkeypatch.setattr(f"{__name__}.PROJECT", tmp_path)
    found = _violations()
    assert any("monorag/types.py:1" in v and "reaches up to monorag.ui" in v for v in found)
    assert any("monorag/types.py:2" in v and "generic top-level" in v for v in found)


def test_every_layer_folder_is_a_mapped_package() -> None:
    """pyproject maps each folder under the one installed name, and nothing else is listed."""
    import tomllib

    config = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    assert {v: k for k, v in mapping.items()} == FOLDERS
    assert all(p.split(".")[0] == "monorag" for p in config["tool"]["setuptools"]["packages"])


def test_eval_and_bench_declare_their_own_commands() -> None:
    """``ui/cli.py`` only registers ``eval`` and ``bench``: eval/ and bench/ declare them."""
    from monorag.ui import cli

    where = {
        c.name or c.callback.__name__: c.callback.__module__ for c in cli.app.registered_commands
    }
    assert where.pop("eval") == "monorag.eval.cli"
    assert where.pop("bench") == "monorag.bench.cli"
    assert set(where.values()) == {"monorag.ui.cli"}, where
    # Nor does its source declare them (``@app.command("eval")`` or a function named so).
    tree = ast.parse((PROJECT / "ui" / "cli.py").read_text(encoding="utf-8"))
    declared = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for d in node.decorator_list:
            call = d if isinstance(d, ast.Call) else None
            if ast.unparse(call.func if call else d) != "app.command":
                continue
            named = call and call.args and isinstance(call.args[0], ast.Constant)
            declared.append(call.args[0].value if named else node.name)
    assert "ingest" in declared and "ask" in declared, declared
    assert not {"eval", "bench"} & set(declared), declared


def _bound_twice(source: str) -> list[str]:
    """Top-level names a module binds more than once (a constant, function or class)."""
    seen: dict[str, int] = {}
    for node in ast.parse(source).body:
        names: list[str] = []
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        for name in names:
            seen[name] = seen.get(name, 0) + 1
    return sorted(n for n, count in seen.items() if count > 1)


def test_no_module_binds_a_top_level_name_twice() -> None:
    """A second pattern of the same name far down a long module silently replaces the
    first (a case-heading rule once never ran because of it)."""
    offenders = {
        str(path.relative_to(PROJECT)): twice
        for folder in FOLDERS
        for path in (PROJECT / folder).glob("*.py")
        if (twice := _bound_twice(path.read_text(encoding="utf-8")))
    }
    assert not offenders, offenders
    assert _bound_twice("A = 1\ndef f(): pass\nA = 2\n") == ["A"]

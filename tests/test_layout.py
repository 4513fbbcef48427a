"""The package layout: no import circle among pipelines' modules, no SQL in dashboards/.

The graph is built from the module-level imports of every file under pipelines/ (imports inside
functions are deferred on purpose and do not run at import time; `if TYPE_CHECKING:` blocks
never run; a module's own packages are always initialised before it). A circle would make the
import order decide what works.

Known deferred back-edge (not import-time, so not counted here): catalog → metrics.figure_table
(a catalog edit marks figures stale in its own transaction). The typed catalog cut the others:
region edits are replayed by catalog.definitions itself, and the sheet helpers that contacts and
accounts share live in catalog.sheets, which imports nothing that reaches metrics.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = ROOT / "pipelines"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of `modules` that `path` imports when it is imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "finalbody", []))
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)

    visit(tree.body)
    out = set()
    for name in found:
        # importing a.b.c imports a and a.b too
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    # a module's own packages are initialised before it: an edge to them is no circle
    ancestors = {".".join(me.split(".")[:i]) for i in range(1, me.count(".") + 1)}
    return {m for m in out if m in modules and m != me and m not in ancestors}


def _graph() -> dict[str, set[str]]:
    files = [p for p in PIPELINES.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {_module(p) for p in files}
    return {_module(p): _top_level_imports(p, modules) for p in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_pipelines():
    graph = _graph()
    assert "pipelines.returns.ingest" in graph and "pipelines.catalog.definitions" in graph
    assert _cycles(graph) == []


def test_pipelines_is_cut_into_domain_packages():
    """The flat modules of returns, catalog, accounts, workflow and demo live in their packages."""
    flat = sorted(p.name for p in PIPELINES.glob("*.py"))
    for name in ("ingest.py", "validate.py", "extract.py", "load.py", "catalog.py",
                 "target_sheets.py", "accounts.py", "audit_log.py", "demo.py", "reminders.py"):
        assert name not in flat, f"pipelines/{name} belongs in a sub-package"
    for package in ("catalog", "returns", "accounts", "workflow", "demo", "metrics", "bulletin"):
        assert (PIPELINES / package / "__init__.py").exists()



_SQL = re.compile(
    r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH(\s+RECURSIVE)?\s+\w+|"
    r"CREATE\s+(TABLE|VIEW|INDEX)|ALTER\s+TABLE|BEGIN|COMMIT|ROLLBACK)\b|\bSELECT\b.+\bFROM\b",
    re.S)


def _sql_strings(source: str) -> list[tuple[int, str]]:
    """String literals (adjacent pieces joined, as Python joins them) that read as SQL."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value):
            out.append((node.lineno, node.value.strip()[:60]))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if _SQL.search(text):
                out.append((node.lineno, text.strip()[:60]))
    return out


def test_the_sql_finder_finds_sql_and_leaves_chinese_alone():
    assert _sql_strings('x = con.execute("SELECT value FROM settings WHERE key = ?")')
    assert _sql_strings('x = ("WITH RECURSIVE sub(code) AS (SELECT 1) "\n     "SELECT code FROM sub")')
    assert _sql_strings('con.execute(f"DELETE FROM {t} WHERE a = 1")')
    assert _sql_strings('con.execute("BEGIN")')
    assert not _sql_strings('msg = "请选择地区后再上传；Select 为按钮名"')
    assert not _sql_strings('label = "选择 (select) 文件"')


def test_no_sql_in_dashboards():
    """Every statement lives in pipelines/ (warehouse, metrics, accounts, returns); pages ask it."""
    found = {}
    for path in sorted((ROOT / "dashboards").rglob("*.py")):
        hits = _sql_strings(path.read_text(encoding="utf-8"))
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}


def test_transactions_go_through_one_context_manager(tmp_path):
    """`db.transaction`: committed when the block ends, rolled back (and the error raised) when
    it fails; no module spells BEGIN/COMMIT/ROLLBACK itself."""
    import pytest

    from pipelines import db
    con = db.connect(tmp_path / "t.duckdb")
    con.execute("CREATE TABLE t (x INTEGER)")
    with db.transaction(con):
        con.execute("INSERT INTO t VALUES (1), (2)")
    with pytest.raises(ZeroDivisionError):
        with db.transaction(con):
            con.execute("INSERT INTO t VALUES (3)")
            1 / 0
    assert con.execute("SELECT list(x ORDER BY x) FROM t").fetchone()[0] == [1, 2]
    con.close()
    spelled = [str(p.relative_to(ROOT)) for p in sorted(PIPELINES.rglob("*.py")) + sorted((ROOT / "dashboards").rglob("*.py"))
               if p.name != "db.py" and re.search(r'execute\("(BEGIN|COMMIT|ROLLBACK)', p.read_text(encoding="utf-8"))]
    assert spelled == []

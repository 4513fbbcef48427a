"""The command line with wrong arguments: every command, run as a user runs it (a subprocess),
answers in Chinese on stderr with a non-zero exit — never a traceback — and a command other
than `init` on a missing warehouse exits 2 without creating anything."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def cli(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], input=stdin, capture_output=True,
                          text=True, timeout=180, cwd=cwd or ROOT, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})


def assert_clean_failure(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-1500:]
    assert proc.stderr.startswith("错误：") and CJK.search(proc.stderr), proc.stderr
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)


def command_lines(db: str, out: Path) -> dict[str, list[str]]:
    """One run of every command (and users subcommand) that would work on a good warehouse."""
    return {
        "template": ["template", "--db", db, "--region", "350902", "--period", "2024-03", "--out", str(out / "t.xlsx")],
        "ingest": ["ingest", str(ROOT / "tests/fixtures/samples/宁德市_2022年四季度_电子凭证激活汇总表.xlsx"),
                   "--db", db, "--archive-dir", str(out / "raw")],
        "gaps": ["gaps", "--db", db, "--period", "2024Q1"],
        "bulletin": ["bulletin", "--db", db, "--quarter", "2024Q3", "--out", str(out / "b")],
        "demo": ["demo", "--db", db],
        "users add": ["users", "add", "--db", db, "--name", "x", "--role", "viewer"],
        "users passwd": ["users", "passwd", "--db", db, "--name", "x"],
        "users disable": ["users", "disable", "--db", db, "--name", "x"],
        "users token": ["users", "token", "--db", db, "--name", "x"],
        "users revoke-tokens": ["users", "revoke-tokens", "--db", db, "--name", "x"],
        "users ensure-admin": ["users", "ensure-admin", "--db", db],
        "users list": ["users", "list", "--db", db],
    }


COMMANDS = list(command_lines("x", Path("x")))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_but_init_stops_on_a_missing_warehouse_and_creates_nothing(command, tmp_path):
    db = tmp_path / "nowhere" / "warehouse.duckdb"
    proc = cli(*command_lines(str(db), tmp_path)[command], stdin="password-123\n")
    assert_clean_failure(proc, 2, f"数据仓库 {db} 不存在", "python -m pipelines init --db")
    assert not db.exists() and not db.parent.exists()


def test_init_creates_a_missing_warehouse(tmp_path):
    db = tmp_path / "new" / "warehouse.duckdb"
    proc = cli("init", "--db", str(db))
    assert proc.returncode == 0 and "数据仓库已就绪" in proc.stdout and db.exists()


@pytest.fixture(scope="module")
def bad_paths(tmp_path_factory):
    import duckdb
    tmp = tmp_path_factory.mktemp("bad_db")
    (tmp / "folder.duckdb").mkdir()
    (tmp / "notes.duckdb").write_text("这不是数据仓库", encoding="utf-8")
    duckdb.connect(str(tmp / "bare.duckdb")).close()                   # a DuckDB file, never initialised
    return tmp


@pytest.mark.parametrize("kind, words, commands", [
    ("folder.duckdb", "是一个目录，不是数据仓库文件", COMMANDS + ["init"]),
    ("notes.duckdb", "不是 DuckDB 数据仓库", COMMANDS + ["init"]),
    ("bare.duckdb", "尚未初始化", ["template", "ingest", "gaps", "bulletin"]),
])
def test_a_path_that_is_not_a_warehouse_is_named(bad_paths, tmp_path, kind, words, commands):
    db = str(bad_paths / kind)
    lines = {**command_lines(db, tmp_path), "init": ["init", "--db", db]}
    for command in commands:
        assert_clean_failure(cli(*lines[command], stdin="password-123\n"), 2, words)


@pytest.fixture(scope="module")
def good_db(tmp_path_factory, _initialised_template):
    db = tmp_path_factory.mktemp("good_db") / "warehouse.duckdb"
    shutil.copy(_initialised_template, db)
    return str(db)


def _bad_arguments(db: str, tmp: Path) -> list[tuple[list[str], str, int, str]]:
    (tmp / "folder").mkdir(exist_ok=True)
    (tmp / "a_file").write_text("x")
    sample = str(ROOT / "tests/fixtures/samples/宁德市_2022年四季度_电子凭证激活汇总表.xlsx")
    return [
        ([], "", 2, "缺少必填参数：命令"),
        (["frobnicate"], "", 2, "命令 的值“frobnicate”无效"),
        (["users"], "", 2, "缺少必填参数：users 的子命令"),
        (["init", "--db", db, "--targets", str(tmp / "no_targets")], "", 2, "没有任何目标方案文件"),
        (["template", "--db", db, "--period", "2024-03", "--out", "t.xlsx"], "", 2, "缺少必填参数：--region"),
        (["template", "--db", db, "--region", "火星", "--period", "2024-03", "--out", "t.xlsx"], "", 2, "未知地区“火星”"),
        (["template", "--db", db, "--region", "350902", "--period", "2024年13月", "--out", "t.xlsx"], "", 2, "统计期"),
        (["template", "--db", db, "--region", "350902", "--period", "2024-03", "--out", str(tmp / "folder")], "", 2,
         "这是一个目录"),
        (["ingest", "--db", db], "", 2, "缺少必填参数：文件"),
        (["ingest", str(tmp / "none.xlsx"), "--db", db], "", 2, "找不到文件"),
        (["ingest", sample, "--db", db, "--archive-dir", str(tmp / "a_file")], "", 2, "不是目录"),
        (["ingest", str(tmp / "a_file"), "--db", db, "--archive-dir", str(tmp / "raw")], "", 1, "退回 a_file"),
        (["gaps", "--db", db], "", 2, "缺少必填参数：--period"),
        (["gaps", "--db", db, "--period", "下个月"], "", 2, "统计期无效"),
        (["gaps", "--db", db, "--period", "2024Q1", "--region", "火星"], "", 2, "未知地区“火星”"),
        (["gaps", "--db", db, "--period", "2024Q1", "--basis", "month"], "", 2, "--basis 的值“month”无效"),
        (["gaps", "--db", db, "--period", "2024Q1", "--format", "xml"], "", 2, "--format 的值“xml”无效"),
        (["gaps", "--db", db, "--period", "2024Q1", "--as-of", "昨天"], "", 2, "--as-of “昨天” 无法识别"),
        (["gaps", "--db", db, "--period", "2024Q1", "--frob"], "", 2, "无法识别的参数：--frob"),
        (["gaps", "--db", db, "--period"], "", 2, "--period 后面需要一个值"),
        (["bulletin", "--db", db, "--quarter", "2024Q5", "--out", str(tmp / "b")], "", 2, "季度无效"),
        (["bulletin", "--db", db, "--quarter", "2024Q3", "--region", "火星", "--out", str(tmp / "b")], "", 2, "未知地区"),
        (["bulletin", "--db", db, "--quarter", "2024Q3", "--as-of", "x", "--out", str(tmp / "b")], "", 2, "无法识别"),
        (["bulletin", "--db", db, "--quarter", "2024Q3", "--out", str(tmp / "a_file")], "", 2, "已有同名的文件"),
        (["demo", "--db", db, "--bogus"], "", 2, "无法识别的参数：--bogus"),
        (["users", "add", "--db", db, "--name", "x", "--role", "boss"], "", 2, "--role 的值“boss”无效"),
        (["users", "add", "--db", db, "--name", "x", "--role", "viewer"], "short\n", 2, "密码至少需要 8 个字符"),
        (["users", "add", "--db", db, "--name", "y", "--role", "reporter", "--region", "火星"], "password-123\n", 2,
         "未知地区“火星”"),
        (["users", "passwd", "--db", db, "--name", "nobody"], "password-123\n", 2, "用户 nobody 不存在"),
        (["users", "token", "--db", db, "--name", "nobody"], "", 2, "用户 nobody 不存在"),
        (["users", "disable", "--db", db, "--name", "nobody"], "", 2, "用户 nobody 不存在"),
        (["users", "revoke-tokens", "--db", db, "--name", "nobody"], "", 2, "用户 nobody 不存在"),
        (["users", "list", "--db", db, "extra"], "", 2, "无法识别的参数：extra"),
    ]


def test_each_command_with_bad_arguments_answers_in_chinese_without_a_traceback(good_db, tmp_path):
    for argv, stdin, code, words in _bad_arguments(good_db, tmp_path):
        proc = cli(*argv, stdin=stdin, cwd=tmp_path)
        assert proc.returncode == code, (argv, proc.returncode, proc.stderr[-800:])
        assert "Traceback" not in proc.stderr + proc.stdout, (argv, proc.stderr[-1500:])
        assert words in proc.stderr and CJK.search(proc.stderr), (argv, proc.stderr)
        if code == 2:
            assert proc.stderr.startswith("错误："), (argv, proc.stderr)

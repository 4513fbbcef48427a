"""`python -m pipelines <command>` — the command line of DESIGN.md.

Every command takes `--db PATH`; errors go to stderr in Chinese with a non-zero exit, and no
traceback reaches the user: wrong arguments (argparse's messages, translated), a warehouse that
is missing (every command but `init` stops with exit 2 and creates nothing), not a warehouse or
not initialised, output paths that cannot be written, and — as a last resort — any unexpected
error, whose details go to a log file named in the message.
Command bodies live in their domain modules; this file only parses arguments.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

from .db import DEFAULT_DB, WarehouseBusy
from .warehouse_checks import WarehouseProblem, check_warehouse, describe_os_error, write_crash_log


class UsageError(Exception):
    """A user mistake on the command line; the message is Chinese."""


_ARGPARSE = (
    (re.compile(r"the following arguments are required: (.+)"), "缺少必填参数：{0}"),
    (re.compile(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.+)\)"),
     "参数 {0} 的值“{1}”无效，可选值：{2}"),
    (re.compile(r"unrecognized arguments: (.+)"), "无法识别的参数：{0}"),
    (re.compile(r"argument (\S+): expected one argument"), "参数 {0} 后面需要一个值"),
    (re.compile(r"argument (\S+): expected at least one argument"), "参数 {0} 后面至少需要一个值"),
    (re.compile(r"argument (\S+): invalid (\w+) value: '([^']*)'"), "参数 {0} 的值“{2}”格式不对"),
    (re.compile(r"argument (\S+): ignored explicit argument '([^']*)'"), "参数 {0} 不接受值“{1}”"),
    (re.compile(r"ambiguous option: (\S+) could match (.+)"), "参数 {0} 有歧义，可能是：{1}"),
)


_DEST_NAMES = {"command": "命令", "users_command": "users 的子命令", "unlock_command": "unlock 的子命令",
               "FILE": "文件"}


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with its error messages in Chinese (usage line kept, help pointed to)."""

    def error(self, message: str):
        text = f"命令行参数有误：{message}"
        for pattern, chinese in _ARGPARSE:
            m = pattern.search(message)
            if m:
                groups = ["、".join(_DEST_NAMES.get(w, w) for w in g.replace("'", "").split(", "))
                          for g in m.groups()]
                text = chinese.format(*groups)
                break
        usage = self.format_usage().replace("usage: ", "", 1).strip()
        self.exit(2, f"错误：{text}\n用法：{usage}\n（运行 {self.prog} -h 查看说明）\n")


def _parser() -> argparse.ArgumentParser:
    p = ChineseArgumentParser(prog="python -m pipelines", description="医保便民服务指标监测 命令行")
    common = ChineseArgumentParser(add_help=False)
    common.add_argument("--db", default=DEFAULT_DB, help="数据仓库文件（默认 data/warehouse.duckdb）")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", parents=[common], help="创建或升级数据仓库，载入地区与目标")
    s.add_argument("--targets", default=None, help="targets 目录（默认项目内 targets/）")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("refresh", parents=[common], help="重新计算全部指标结果表（通常无需手动运行）")
    s.set_defaults(func=cmd_refresh)

    s = sub.add_parser("template", parents=[common], help="生成某地区某统计期的报送模板 (.xlsx)")
    s.add_argument("--region", required=True, help="地区编码或名称")
    s.add_argument("--period", required=True, help="统计期，如 2024-03、2024Q1、2024")
    s.add_argument("--out", required=True, help="输出文件 .xlsx")
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("ingest", parents=[common], help="校验并载入报送文件（.xlsx/.xlsm）")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--user", default="cli", help="报送人（记入审计日志）")
    s.add_argument("--archive-dir", default="data/raw", help="原始文件归档目录（默认 data/raw）")
    s.add_argument("--dry-run", action="store_true", help="只校验，不写入")
    s.set_defaults(func=cmd_ingest)
    s = sub.add_parser("users", help="管理账户：add / passwd / disable / token / revoke-tokens / ensure-admin / list")
    us = s.add_subparsers(dest="users_command", required=True)
    u = us.add_parser("add", parents=[common], help="新建用户（密码从标准输入读取）")
    u.add_argument("--name", required=True)
    u.add_argument("--role", required=True, choices=["admin", "reporter", "viewer"])
    u.add_argument("--region", default=None, help="填报员所属地区（编码或名称）")
    for name, text in (("passwd", "修改密码（从标准输入读取）"), ("disable", "停用用户并吊销令牌"),
                       ("token", "签发新的 API 令牌并打印"), ("revoke-tokens", "吊销该用户全部 API 令牌")):
        us.add_parser(name, parents=[common], help=text).add_argument("--name", required=True)
    us.add_parser("ensure-admin", parents=[common], help="没有任何用户时创建管理员并打印初始密码"
                  ).add_argument("--name", default="admin")
    us.add_parser("list", parents=[common], help="列出用户")
    s.set_defaults(func=cmd_users)

    s = sub.add_parser("gaps", parents=[common], help="输出各地区各指标的实际值、目标与差距（csv/json）")
    s.add_argument("--period", required=True, help="统计期，如 2024Q2、2024-03、2024年第二季度")
    s.add_argument("--region", default=None, help="地区编码、名称或简称（默认：全部顶层辖区）")
    s.add_argument("--basis", default="period", choices=["period", "ytd"], help="period 当期 | ytd 累计")
    s.add_argument("--format", default="csv", choices=["csv", "json"])
    s.add_argument("--as-of", dest="as_of", default=None, help="按某一时刻的数据计算，如 2024-05-01")
    s.set_defaults(func=cmd_gaps)

    s = sub.add_parser("reporting-rate", parents=[common],
                       help="输出报送率：应报、已报、按时、逾期、未报、未到期（csv/json）")
    s.add_argument("--region", required=True, help="辖区编码或名称")
    s.add_argument("--year", required=True, help="年度，如 2024")
    s.add_argument("--frequency", default="月度", help="报表频度：月度、季度 或 年度（默认月度）")
    s.add_argument("--by", default="region", choices=["region", "period"], help="region 按地区 | period 按期间")
    s.add_argument("--format", default="csv", choices=["csv", "json"])
    s.add_argument("--as-of", dest="as_of", default=None, help="按某一时刻统计，如 2024-06-20")
    s.set_defaults(func=cmd_reporting_rate)

    s = sub.add_parser("remind", parents=[common], help="按系统设置发送到期的催报提醒邮件（需配置 smtp.host）")
    s.add_argument("--today", default=None, help="按某一天检查，如 2024-06-13（默认今天）")
    s.set_defaults(func=cmd_remind)

    s = sub.add_parser("settings", parents=[common], help="查看或修改系统设置，如 smtp.host、reminder.days_before")
    s.add_argument("--set", dest="assign", action="append", default=[], metavar="KEY=VALUE",
                   help="修改一项设置（可重复）；值为空即删除该项")
    s.set_defaults(func=cmd_settings)

    s = sub.add_parser("unlock", help="统计期解锁：grant 解锁 / list 列出 / revoke 撤销（锁定期限见设置 lock_days.月度 等）")
    ul = s.add_subparsers(dest="unlock_command", required=True)
    u = ul.add_parser("grant", parents=[common], help="为某地区某统计期解锁，须写明原因和有效期")
    u.add_argument("--user", required=True, help="操作的管理员账户（权限和地区范围按该账户）")
    u.add_argument("--region", required=True, help="地区编码或名称")
    u.add_argument("--period", required=True, help="统计期，如 2024-03、2024Q1、2024（年、季度含其中各期）")
    u.add_argument("--reason", required=True, help="解锁原因（最多 500 字）")
    u.add_argument("--expires", required=True, help="有效期至，如 2026-12-10T18:00（最长 90 天）")
    u.add_argument("--subtree", action="store_true", help="同时解锁其下级地区")
    u = ul.add_parser("revoke", parents=[common], help="提前结束一项解锁")
    u.add_argument("--user", required=True, help="操作的管理员账户")
    u.add_argument("--id", required=True, help="解锁编号（见 unlock list）")
    ul.add_parser("list", parents=[common], help="列出解锁记录")
    s.set_defaults(func=cmd_unlock)

    s = sub.add_parser("bulletin", parents=[common], help="生成季度通报（Word、Excel 附表、PDF）")
    s.add_argument("--quarter", required=True, help="季度，如 2024Q3 或 2024年第三季度")
    s.add_argument("--region", default=None, help="地区编码或名称（默认：每个顶层辖区各一套）")
    s.add_argument("--as-of", dest="as_of", default=None, help="按某一时刻的数据生成，如 2024-10-15")
    s.add_argument("--out", required=True, help="输出目录")
    s.add_argument("--issue-date", dest="issue_date", default=None,
                   help="成文日期，如 2024-07-15（默认今天；不得早于季度结束）")
    s.add_argument("--serial", default=None, help="发文字号序号，如 12（得到“温医保发〔2024〕12号”）")
    s.add_argument("--per-region", dest="per_region", action="store_true",
                   help="另为每个下级单位生成一页通知单（一地一单）")
    s.add_argument("--include-unreviewed", dest="reviewed_only", action="store_false", default=None,
                   help="含未审核通过的数据（默认按设置 bulletin.reviewed_only：只用审核通过的数据）")
    s.add_argument("--user", default="cli", help="记入审计日志的操作人（默认 cli）")
    s.set_defaults(func=cmd_bulletin)

    s = sub.add_parser("demo", parents=[common], help="生成并载入示例数据（2022-01 至 2025-12，标记为“示例数据”）")
    s.add_argument("--if-empty", dest="if_empty", action="store_true",
                   help="数据仓库中已有报送数据时不做任何事（make run 使用）")
    s.set_defaults(func=cmd_demo)
    return p


def cmd_init(args) -> int:
    from .warehouse import init_warehouse
    stats = init_warehouse(args.db, args.targets)
    print(f"数据仓库已就绪：{args.db}（结构版本 {stats['schema_version']}，"
          f"指标 {stats['indicators']} 个，地区 {stats['regions']} 个，方案 {stats['plans']} 个；"
          f"目标新增 {stats['targets_new']}、变更 {stats['targets_changed']}、"
          f"停用 {stats['targets_retired']}）")
    if stats.get("region_edits_kept"):
        print(f"已保留网页上维护的地区修改 {stats['region_edits_kept']} 项（targets/ 中的地区树为默认值，"
              "网页修改优先）")
    return 0


def cmd_refresh(args) -> int:
    from pathlib import Path

    from pipelines import db
    from .metrics.figure_table import rebuild
    if not Path(args.db).exists():
        raise UsageError(f"数据仓库 {args.db} 不存在：请先运行 python -m pipelines init --db {args.db}")
    con = db.connect(args.db)
    try:
        db.migrate(con)
        stats = rebuild(con)
    finally:
        con.close()
    print(f"指标结果表已重新计算：{stats['jurisdictions']} 个辖区，{stats['rows']} 行，用时 {stats['seconds']:.1f} 秒")
    return 0


def cmd_gaps(args) -> int:
    from .metrics.export import GapsUsageError, run
    try:
        return run(args)
    except GapsUsageError as exc:
        raise UsageError(str(exc)) from None


def cmd_reporting_rate(args) -> int:
    from .metrics.reporting_rate import RateUsageError, run
    try:
        return run(args)
    except RateUsageError as exc:
        raise UsageError(str(exc)) from None


def cmd_remind(args) -> int:
    from pipelines.workflow.reminders import run_cli
    try:
        return run_cli(args)
    except ValueError as exc:
        raise UsageError(f"--today “{args.today}” 无法识别：请写成 2024-06-13") from exc


EDITABLE_SETTINGS = ("smtp.host", "smtp.port", "smtp.from", "smtp.user", "smtp.password", "smtp.starttls",
                     "reminder.days_before", "reminder.days_after", "reminder.catch_up_days", "due_day.月度", "due_day.季度",
                     "due_day.年度", "rollup.min_share", "lock_days.月度", "lock_days.季度", "lock_days.年度",
                     "warning.must_answer", "outlier.threshold", "outlier.min_points")


def _setting_problem(key: str, value: str) -> str | None:
    from pipelines.returns.outliers import check_setting as outlier_problem
    from pipelines.workflow.period_locks import check_setting as lock_problem
    from pipelines.workflow.warning_answers import check_setting as answer_problem
    return lock_problem(key, value) or answer_problem(key, value) or outlier_problem(key, value)


def cmd_unlock(args) -> int:
    from pipelines.workflow.period_locks import LockError, run_cli
    try:
        return run_cli(args, sys.stdout)
    except LockError as exc:
        raise UsageError(str(exc)) from None


def cmd_settings(args) -> int:
    from pipelines import db
    from pipelines.catalog.model import Settings, SettingsIssues
    from pipelines.catalog.suggest import did_you_mean
    con = db.connect(args.db)
    try:
        db.migrate(con)
        changes = []
        for item in args.assign:
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in EDITABLE_SETTINGS:
                raise UsageError(f"设置“{item}”无效{did_you_mean(key, EDITABLE_SETTINGS) if sep else ''}："
                                 f"请写成 KEY=VALUE，KEY 为 {'、'.join(EDITABLE_SETTINGS)} 之一")
            if value.strip() and _setting_problem(key, value.strip()):
                raise UsageError(_setting_problem(key, value.strip()))
            changes.append((key, value.strip()))
        current = dict(con.execute("SELECT key, value FROM settings").fetchall())
        try:                      # the typed settings: every bad value named, nothing written
            Settings.from_rows({**current, **dict(changes)})
        except SettingsIssues as exc:
            raise UsageError(str(exc)) from None
        with db.transaction(con):
            for key, value in changes:
                con.execute("DELETE FROM settings WHERE key = ?", [key])
                if value:
                    con.execute("INSERT INTO settings VALUES (?, ?)", [key, value])
                db.audit(con, "cli", "settings.set", key, "ok",
                         {"value": "******" if "password" in key else value})
        for key, value in con.execute("SELECT key, value FROM settings ORDER BY key").fetchall():
            if key in EDITABLE_SETTINGS:
                print(f"{key}\t{'******' if 'password' in key else value}")
    finally:
        con.close()
    return 0


def cmd_bulletin(args) -> int:
    from .bulletin.cli import run
    return run(args, UsageError)


def cmd_demo(args) -> int:
    from pipelines.demo.build import DemoError, build_demo
    try:
        stats = build_demo(args.db, if_empty=args.if_empty)
    except DemoError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    if stats["skipped"]:
        print(f"数据仓库 {args.db} 已有 {stats['existing_values']} 条报送数据，未生成示例数据")
        return 0
    print(f"示例数据已生成并载入：{stats['files']} 个文件（模板 {stats['templates']}、汇总长表 "
          f"{stats['long_tables']}；逾期补报 {stats['late']}、更正 {stats['corrections']}），"
          f"新增数值 {stats['rows_new']} 条、更正 {stats['revisions']} 条，"
          f"文件在 {stats['raw_dir']}，用时 {stats['seconds']:.1f} 秒")
    return 0


def cmd_users(args) -> int:
    from pipelines.accounts.users import AccountError, run_cli
    try:
        return run_cli(args, sys.stdin, sys.stdout)
    except AccountError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


def cmd_template(args) -> int:
    from pipelines import db
    from .periods import PeriodError, parse_period
    from pipelines.returns.templates import template_indicators, write_template
    from .reader_snapshot import connect_for_reading
    con, note = connect_for_reading(args.db)
    if note:
        print(f"提示：{note}", file=sys.stderr)
    try:
        from pipelines.catalog.names import ResolveError, resolve_region
        try:
            code = resolve_region(con, args.region, active_only=True)
        except ResolveError as exc:
            raise UsageError(str(exc)) from None
        try:
            period = parse_period(args.period)
        except PeriodError as exc:
            raise UsageError(str(exc)) from None
        try:
            path = write_template(con, code, period, args.out)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        n = len(template_indicators(con, code, period))
    finally:
        con.close()
    print(f"已生成报送模板：{path}（地区 {code}，统计期 {period.label}，指标 {n} 个）")
    return 0


def cmd_ingest(args) -> int:
    from pathlib import Path

    from pipelines import db
    from pipelines.returns.ingest import ingest_files
    from pipelines.returns.parse_worker import ParseLimits, ParsePool
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise UsageError("找不到文件：" + "、".join(missing))
    with ParsePool(ParseLimits.from_env()) as parser:
        parser.warm_up()                   # the workers start while great-expectations imports
        con = db.connect(args.db)
        try:
            outcomes = ingest_files(con, args.files, user=args.user, channel="cli",
                                    archive_dir=args.archive_dir, dry_run=args.dry_run, parser=parser)
        finally:
            con.close()
    for out in outcomes:
        print(out.line(), file=sys.stderr if out.status == "rejected" else sys.stdout)
    return 1 if any(o.status == "rejected" for o in outcomes) else 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    args = _parser().parse_args(argv)
    from pipelines.catalog.definitions import CatalogError
    try:
        check_warehouse(args.db, must_exist=args.command != "init")
        return args.func(args)
    except CatalogError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except (WarehouseBusy, WarehouseProblem, UsageError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:        # ours carry a Chinese message; the OS's an errno
        print(f"错误：{describe_os_error(exc) if exc.errno is not None else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断：本次命令未完成的写入已回滚", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: a Chinese line, details to a log
        known = describe_os_error(exc) if isinstance(exc, OSError) else None
        if known:
            print(f"错误：{known}", file=sys.stderr)
            return 2
        problem = WarehouseProblem.from_duckdb(exc, args.db)
        if problem is not None:
            print(f"错误：{problem}", file=sys.stderr)
            return 2
        log = write_crash_log(args.command)
        print(f"错误：命令执行失败（{type(exc).__name__}：{str(exc)[:300]}）。详细信息已写入 {log}，"
              "请把该文件发给系统管理员", file=sys.stderr)
        return 1

"""`python -m pipelines <command>` — the command line of DESIGN.md.

Every command takes `--db PATH`; errors go to stderr in Chinese with a non-zero exit.
Command bodies live in their domain modules; this file only parses arguments.
"""
from __future__ import annotations

import argparse
import os
import sys

from .db import DEFAULT_DB, WarehouseBusy


class UsageError(Exception):
    """A user mistake on the command line; the message is Chinese."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipelines", description="医保便民服务指标监测 命令行")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=DEFAULT_DB, help="数据仓库文件（默认 data/warehouse.duckdb）")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", parents=[common], help="创建或升级数据仓库，载入地区与目标")
    s.add_argument("--targets", default=None, help="targets 目录（默认项目内 targets/）")
    s.set_defaults(func=cmd_init)

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

    s = sub.add_parser("bulletin", parents=[common], help="生成季度通报（Word、Excel 附表、PDF）")
    s.add_argument("--quarter", required=True, help="季度，如 2024Q3 或 2024年第三季度")
    s.add_argument("--region", default=None, help="地区编码或名称（默认：每个顶层辖区各一套）")
    s.add_argument("--as-of", dest="as_of", default=None, help="按某一时刻的数据生成，如 2024-10-15")
    s.add_argument("--out", required=True, help="输出目录")
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


def cmd_gaps(args) -> int:
    from .metrics.export import GapsUsageError, run
    try:
        return run(args)
    except GapsUsageError as exc:
        raise UsageError(str(exc)) from None


def cmd_bulletin(args) -> int:
    from .bulletin.cli import run
    return run(args, UsageError)


def cmd_demo(args) -> int:
    from .demo import DemoError, build_demo
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
    from .accounts import AccountError, run_cli
    try:
        return run_cli(args, sys.stdin, sys.stdout)
    except AccountError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


def cmd_template(args) -> int:
    from . import db
    from .periods import PeriodError, parse_period
    from .templates import template_indicators, write_template
    from .validate import CatalogView
    con = db.connect(args.db, read_only=True)
    try:
        code = CatalogView.load(con).region(args.region)
        if code is None:
            raise UsageError(f"地区“{args.region}”不存在：请填写地区编码或名称（见 targets/regions.yaml）")
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

    from . import db
    from .ingest import ingest_files
    from .parse_worker import ParseLimits, ParsePool
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
    from .catalog import CatalogError
    try:
        return args.func(args)
    except CatalogError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except (WarehouseBusy, UsageError, FileNotFoundError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2

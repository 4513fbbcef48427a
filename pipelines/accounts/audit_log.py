"""The audit log in words: Chinese names for its actions and outcomes, details as sentences
(never raw JSON or hashes), filtered by user, action, region and date, paged, exportable.

The log itself is written by `db.audit` and never changed; this module only reads it. An entry
concerns a region when its return's rows are for that region (or below it), or when the user it
is about — or the user who acted — belongs to that region.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

ACTION_LABELS = {
    "login": "登录", "ingest": "报送文件", "upload": "报送文件", "user.add": "新建用户",
    "user.passwd": "修改密码", "user.reset": "重置密码", "user.disable": "停用用户",
    "user.enable": "启用用户", "user.batch": "批量创建账户", "token.create": "签发 API 令牌",
    "token.revoke": "吊销 API 令牌", "targets.load": "载入目标方案", "targets.apply": "修改目标",
    "regions.apply": "修改地区树", "contacts.apply": "修改联系人", "bulletin.export": "生成通报",
    "reminder.sent": "发送催报邮件", "settings.set": "修改系统设置", "reminder.failed": "催报邮件发送失败",
    "review.approve": "审核通过", "review.return": "审核退回",
    "period.unlock": "统计期解锁", "period.unlock_revoke": "撤销解锁",
}
OUTCOME_LABELS = {"ok": "成功", "success": "成功", "failure": "失败", "accepted": "已接收",
                  "rejected": "被拒收", "denied": "无权限", "partial": "部分完成"}
_REASONS = {"bad-password": "用户名或密码错误", "locked": "失败次数过多，已锁定", "role": "角色无报送权限"}
_CHANNELS = {"web": "网页", "api": "接口", "cli": "命令行", "demo": "示例数据"}
# Settings (`settings` table) by what they mean; the key itself is never shown.
SETTING_LABELS = {"due_day.月度": "月度报表截止日", "due_day.季度": "季度报表截止日",
                  "due_day.年度": "年度报表截止日", "rollup.min_share": "汇总所需数据齐全比例",
                  "reminder.days_before": "截止前提醒天数", "reminder.days_after": "逾期催报天数",
                  "reminder.catch_up_days": "补发催报天数", "smtp.host": "邮件服务器",
                  "smtp.port": "邮件服务器端口", "smtp.from": "发件地址", "smtp.user": "邮件账户",
                  "smtp.password": "邮件密码", "smtp.starttls": "邮件加密（STARTTLS）"}
_DETAIL_WORDS = {"value": "值", "role": "角色", "region": "地区", "count": "数量", "reason": "原因",
                 "channel": "渠道", "rows": "条数", "comment": "意见"}
PAGE_SIZE = 50
COLUMNS = ("时间", "操作者", "操作", "对象", "结果", "详情")


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def setting_label(key: str | None) -> str:
    if not key:
        return "—"
    if key.startswith("bulletin."):
        return "通报设置"
    return SETTING_LABELS.get(key, "系统设置")


def describe(action: str, outcome: str, detail: dict, names: dict | None = None) -> str:
    """The entry's detail as a Chinese sentence (`names`: region code → name)."""
    d = detail or {}
    names = names or {}
    role_names = {"admin": "管理员", "reporter": "填报员", "viewer": "查看者"}
    if action == "login":
        text = f"来自 {d.get('ip', '未知地址')}"
        return text + (f"；{_REASONS.get(d['reason'], d['reason'])}" if d.get("reason") else "")
    if action in ("ingest", "upload"):
        via = _CHANNELS.get(d.get("channel"), d.get("channel") or "")
        if outcome == "accepted":
            return (f"经{via}报送，{d.get('rows', 0)} 条数据（新增 {d.get('new', 0)}、更正 "
                    f"{d.get('revisions', 0)}），警告 {d.get('warnings', 0)} 条")
        if d.get("reason") == "role":
            return f"经{via}报送被拒：{role_names.get(d.get('role'), d.get('role'))}账户无报送权限"
        if d.get("scope_violation"):
            return f"经{via}报送被拒：含有不属于其报送范围的地区"
        errors = d.get("errors") or []
        first = f"；首条：{errors[0]}" if errors else ""
        return f"经{via}报送被拒，{d.get('error_count', len(errors))} 个错误{first}"
    if action == "user.add":
        return f"角色 {role_names.get(d.get('role'), d.get('role'))}" + (
            f"，地区 {names.get(d['region'], d['region'])}" if d.get("region") else "，全部地区")
    if action == "user.disable":
        return f"并吊销 API 令牌 {d.get('tokens_revoked', 0)} 个，其登录全部失效"
    if action in ("user.passwd", "user.reset"):
        return "其在各处的登录全部失效" + ("；下次登录须修改密码" if action == "user.reset" else "")
    if action == "user.batch":
        return f"共 {d.get('count', 0)} 个账户，初始密码已以文件提供"
    if action == "token.revoke":
        return f"吊销 {d.get('revoked', 0)} 个"
    if action in ("targets.apply", "regions.apply", "contacts.apply"):
        changes = d.get("changes") or []
        kinds = {}
        for c in changes:
            kinds[c.get("change")] = kinds.get(c.get("change"), 0) + 1
        return f"共 {len(changes)} 处：" + "、".join(f"{k} {n}" for k, n in kinds.items()) if changes else "无修改"
    if action == "targets.load":
        return (f"目标新增 {d.get('targets_new', 0)}、变更 {d.get('targets_changed', 0)}、停用 "
                f"{d.get('targets_retired', 0)}")
    if action == "bulletin.export":
        return f"{d.get('quarter', '')} 季度通报，{d.get('indicators', 0)} 项指标" + (
            "（示例数据）" if d.get("demo") else "")
    if action in ("review.approve", "review.return"):
        if d.get("count"):
            return f"批量审核通过 {d['count']} 份报送" + (f"；意见：{d['comment']}" if d.get("comment") else "")
        text = (f"报送 #{d.get('submission_id', '')}（{d.get('uploaded_by', '')} 报送，地区 "
                f"{'、'.join(names.get(r, r) for r in d.get('regions') or [])}，统计期 {'、'.join(d.get('periods') or [])}）")
        return text + (f"；意见：{d['comment']}" if d.get("comment") else "")
    if action == "period.unlock":
        if outcome == "denied":
            return f"{role_names.get(d.get('role'), d.get('role') or '')}账户无权{d.get('what', '解锁统计期')}"
        return (f"解锁 #{d.get('unlock_id', '')}：{d.get('region_name', d.get('region', ''))}"
                f"{'及下级地区' if d.get('subtree') else ''} {d.get('period', '')}，有效期至 "
                f"{str(d.get('expires_at', '')).replace('T', ' ')}；原因：{d.get('reason', '')}")
    if action == "period.unlock_revoke":
        return f"撤销解锁 #{d.get('unlock_id', '')}（{d.get('region', '')} {d.get('period', '')}）"
    if action in ("reminder.sent", "reminder.failed"):
        kind = "截止前提醒" if d.get("kind") == "before" else "逾期催报"
        text = f"{kind}：{d.get('period_label', d.get('period', ''))}，截止 {d.get('due_date', '')}，发至 {d.get('to', '')}"
        return text + (f"；原因：{d['error']}" if d.get("error") else "")
    if action == "settings.set":
        return f"设为 {d.get('value', '')}"
    return "；".join(f"{_DETAIL_WORDS.get(k, k)}：{names.get(v, v) if isinstance(v, str) else v}"
                    for k, v in d.items() if k in _DETAIL_WORDS) or "—"


@dataclass
class AuditPage:
    rows: list[tuple]         # COLUMNS, in words
    total: int
    page: int
    pages: int


def action_choices(con) -> list[tuple[str, str]]:
    """(action, Chinese name) of the actions present in the log."""
    return [(a, action_label(a)) for (a,) in
            con.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()]


def actor_choices(con) -> list[str]:
    return [a for (a,) in con.execute("SELECT DISTINCT actor FROM audit_log ORDER BY 1").fetchall()]


def _where(con, user, action, region, date_from, date_to):
    clauses, params = [], []
    if user:
        clauses.append("(a.actor = ? OR a.subject = ?)")
        params += [user, user]
    if action:
        clauses.append("a.action = ?")
        params.append(action)
    if region:
        from pipelines.metrics.reporting import Tree
        tree = Tree.read(con)
        codes = [region, *tree.descendants(region)]
        clauses.append("(list_has_any(s.regions, ?::VARCHAR[]) OR us.region_code IN (SELECT unnest(?::VARCHAR[])) "
                       "OR ua.region_code IN (SELECT unnest(?::VARCHAR[])) "
                       "OR json_extract_string(a.detail, '$.region') IN (SELECT unnest(?::VARCHAR[])))")
        params += [codes, codes, codes, codes]
    if date_from:
        clauses.append("a.logged_at >= ?")
        params.append(dt.datetime.combine(date_from, dt.time()))
    if date_to:
        clauses.append("a.logged_at < ?")
        params.append(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


_FROM = """FROM audit_log a
    LEFT JOIN submissions s
      ON s.submission_id = TRY_CAST(json_extract_string(a.detail, '$.submission_id') AS BIGINT)
    LEFT JOIN users us ON us.name = a.subject
    LEFT JOIN users ua ON ua.name = a.actor"""


def query(con, *, user=None, action=None, region=None, date_from=None, date_to=None,
          page: int = 1, page_size: int = PAGE_SIZE) -> AuditPage:
    """One page of the log, newest first, in words."""
    where, params = _where(con, user, action, region, date_from, date_to)
    total = con.execute(f"SELECT count(*) {_FROM} {where}", params).fetchone()[0]
    pages = max(1, -(-total // page_size))
    page = min(max(1, int(page)), pages)
    raw = con.execute(f"SELECT a.logged_at, a.actor, a.action, a.subject, a.outcome, a.detail {_FROM} "
                      f"{where} ORDER BY a.audit_id DESC LIMIT {int(page_size)} OFFSET {(page - 1) * int(page_size)}",
                      params).fetchall()
    names = dict(con.execute("SELECT code, name FROM regions").fetchall())
    return AuditPage([_words(r, names) for r in raw], total, page, pages)


def _words(row, names: dict | None = None) -> tuple:
    at, actor, action, subject, outcome, detail = row
    try:
        d = json.loads(detail) if isinstance(detail, str) else (detail or {})
    except ValueError:
        d = {}
    return (f"{at:%Y-%m-%d %H:%M:%S}", "系统" if actor == "system" else actor, action_label(action),
            setting_label(subject) if action == "settings.set" else subject or "—",
            OUTCOME_LABELS.get(outcome, outcome), describe(action, outcome, d, names))


def export_xlsx(con, **filters) -> bytes:
    """Every entry matching the filters (not only one page), in words, as a workbook."""
    from openpyxl import Workbook

    from pipelines.catalog.sheets import header, neutral_text
    result = query(con, **filters, page=1, page_size=1_000_000)
    wb = Workbook()
    ws = wb.active
    ws.title = "审计日志"
    header(ws, COLUMNS)
    for r in result.rows:
        ws.append([neutral_text(v) for v in r])
    for col, width in zip("ABCDEF", (20, 14, 16, 30, 10, 80)):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

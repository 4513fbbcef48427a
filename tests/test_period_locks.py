"""Period locks and answers to warnings on a real warehouse (pipelines/workflow/period_locks.py,
warning_answers.py), time driven by the upload times passed to ingest (`now`): a period locks
lock_days after its deadline, a change is refused with the region, the period, the moment and
the admins named, an admin's unlock lets it through until it expires; bad unlocks change
nothing; a warning that must be answered refuses the file until its 说明 is given."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

import returns_factory as rf
from pipelines import db
from pipelines.accounts import users as accounts
from pipelines.periods import parse_period
from pipelines.returns.ingest import check_files, ingest_files
from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.returns.templates import write_template
from pipelines.workflow import period_locks, review, warning_answers
from pipelines.workflow.period_locks import LockError

ROOT = Path(__file__).resolve().parent.parent
ACT, SET = "evoucher_activation_rate", "evoucher_settlement_rate"
PASSWORD = "test-pass-123"


def _setting(con, key, value):
    con.execute("DELETE FROM settings WHERE key = ?", [key])
    con.execute("INSERT INTO settings VALUES (?, ?)", [key, value])


def _file(con, tmp_path, name, act, sett=(500, 1000), period="2024-03", region="350902", note=None):
    template = tmp_path / f"template-{region}-{period}.xlsx"
    if not template.exists():
        write_template(con, region, period, template)

    def add_note(wb):
        if note:
            ws = wb["填报表"]
            row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == ACT)
            ws.cell(row, 5).value = note
    return rf.fill_template(template, tmp_path / name, {ACT: act, SET: sett}, edit=add_note)


def _ingest(con, tmp_path, path, at, **kw):
    return ingest_files(con, [path], archive_dir=tmp_path / "raw", now=at, today=at.date(), **kw)[0]


def _current(con, region="350902", period="2024-03"):
    return dict(con.execute("SELECT indicator_code, numerator FROM return_values WHERE region_code = ? "
                            "AND period = ? AND superseded_at IS NULL", [region, period]).fetchall())


@pytest.fixture
def admin(con):
    accounts.add_user(con, "admin", "admin", PASSWORD)
    accounts.add_user(con, "张主任", "admin", PASSWORD, region="350900")        # 宁德市's admin
    accounts.add_user(con, "city", "reporter", PASSWORD, region="350900")
    accounts.add_user(con, "viewer", "viewer", PASSWORD)
    return accounts.get_user(con, "admin")


def test_a_period_locks_lock_days_after_its_deadline():
    # 2024-03 is due 2024-04-10 (due_day.月度 10); 30 days later, at 00:00 of the day after: 05-11
    assert period_locks.lock_time(parse_period("2024-03"), 10, 30) == dt.datetime(2024, 5, 11)
    # 2024Q1 due 04-15 (due_day.季度 15) + 10 days → 04-26 00:00; 2024 due 2025-01-31 + 0 → 02-01
    assert period_locks.lock_time(parse_period("2024Q1"), 15, 10) == dt.datetime(2024, 4, 26)
    assert period_locks.lock_time(parse_period("2024"), 31, 0) == dt.datetime(2025, 2, 1)
    assert period_locks.lock_time(parse_period("2024-03"), 10, None) is None      # never locks


def test_without_a_lock_setting_old_periods_stay_open(con, tmp_path, admin):
    out = _ingest(con, tmp_path, _file(con, tmp_path, "a.xlsx", (800, 1000), period="2022-03"),
                  dt.datetime(2026, 12, 1))
    assert out.status == "accepted" and out.errors == []


def test_locked_refused_then_unlocked_accepted_then_refused_after_expiry(con, tmp_path, admin):
    _setting(con, "lock_days.月度", "30")
    first = _ingest(con, tmp_path, _file(con, tmp_path, "first.xlsx", (800, 1000)), dt.datetime(2024, 5, 10, 23, 0))
    assert first.status == "accepted" and _current(con)[ACT] == 800          # before 05-11 00:00: open

    counts = con.execute("SELECT count(*) FROM return_values").fetchone()[0]
    refused = _ingest(con, tmp_path, _file(con, tmp_path, "fix.xlsx", (820, 1000)), dt.datetime(2024, 5, 11, 0, 0))
    assert refused.status == "rejected" and len(refused.errors) == 1
    err = refused.errors[0]
    assert err.sheet == "填报表" and err.cell == "C6"
    assert "蕉城区 2024年3月已于 2024-05-11 00:00 锁定" in err.message
    assert "截止日 2024-04-10 后 30 天" in err.message
    assert "管理员（admin、张主任）" in err.message and "解锁" in err.message
    assert "本文件 1 条：C6" in err.message                            # only the changed value counts
    assert con.execute("SELECT count(*) FROM return_values").fetchone()[0] == counts and _current(con)[ACT] == 800

    same = _ingest(con, tmp_path, _file(con, tmp_path, "same.xlsx", (800, 1000), note="核对无误"),
                   dt.datetime(2024, 6, 1))
    assert same.status == "accepted" and same.unchanged == 2                # nothing changes: not refused

    item = period_locks.unlock(con, admin, "蕉城区", "2024-03", "3月激活人数漏报一个社区，需更正",
                               "2024-06-02T18:00", now=dt.datetime(2024, 6, 1, 9, 0))
    assert item.state(dt.datetime(2024, 6, 1, 9, 0)) == "生效中" and item.granted_by == "admin"
    ok = _ingest(con, tmp_path, _file(con, tmp_path, "fix.xlsx", (820, 1000)), dt.datetime(2024, 6, 1, 10, 0))
    assert ok.status == "accepted" and ok.revisions == 1 and _current(con)[ACT] == 820

    late = _ingest(con, tmp_path, _file(con, tmp_path, "fix2.xlsx", (830, 1000)), dt.datetime(2024, 6, 2, 18, 0))
    assert late.status == "rejected" and "已于 2024-05-11 00:00 锁定" in late.errors[0].message
    assert _current(con)[ACT] == 820
    [(actor, subject, detail)] = con.execute("SELECT actor, subject, detail FROM audit_log "
                                             "WHERE action = 'period.unlock'").fetchall()
    detail = json.loads(detail)
    assert actor == "admin" and subject == "蕉城区 2024年3月"
    assert detail["reason"] == "3月激活人数漏报一个社区，需更正" and detail["expires_at"] == "2024-06-02T18:00:00"
    from pipelines.accounts.audit_log import query
    line = query(con, action="period.unlock").rows[0]
    assert line[2] == "统计期解锁" and "有效期至 2024-06-02 18:00" in line[5] and "漏报" in line[5]


def test_an_unlock_of_a_year_with_its_subtree_covers_the_units_months(con, tmp_path, admin):
    _setting(con, "lock_days.月度", "0")
    at = dt.datetime(2024, 6, 1, 10, 0)
    period_locks.unlock(con, admin, "宁德市", "2024", "全市年中核对", "2024-06-05 00:00", now=at)   # no subtree
    refused = _ingest(con, tmp_path, _file(con, tmp_path, "a.xlsx", (800, 1000)), at)
    assert refused.status == "rejected"
    period_locks.unlock(con, admin, "宁德市", "2024", "全市年中核对", "2024-06-05 00:00", subtree=True, now=at)
    ok = _ingest(con, tmp_path, _file(con, tmp_path, "b.xlsx", (801, 1000)), at)
    assert ok.status == "accepted"
    other = _ingest(con, tmp_path, _file(con, tmp_path, "c.xlsx", (802, 1000), period="2023-12"), at)
    assert other.status == "rejected" and "2023年12月" in other.errors[0].message    # not in 2024


def test_the_demo_checks_as_of_its_own_upload_times(con, tmp_path, admin):
    """A batch with one time per file (the demo's replay): each file is judged at its own time."""
    _setting(con, "lock_days.月度", "30")
    early, late = _file(con, tmp_path, "early.xlsx", (700, 1000)), _file(con, tmp_path, "late.xlsx", (710, 1000))
    outs = ingest_files(con, [early, late], archive_dir=tmp_path / "raw", today=dt.date(2024, 7, 1),
                        now=[dt.datetime(2024, 4, 9), dt.datetime(2024, 7, 1)])
    assert [o.status for o in outs] == ["accepted", "rejected"]


def _count(con):
    return (con.execute("SELECT count(*) FROM period_unlocks").fetchone()[0],
            con.execute("SELECT count(*) FROM audit_log WHERE action LIKE 'period.unlock%'").fetchone()[0])


@pytest.mark.parametrize("who,region,reason,expires,status,words", [
    ("viewer", "蕉城区", "原因", "2024-06-02 18:00", 403, ("无权解锁", "管理员")),
    ("city", "蕉城区", "原因", "2024-06-02 18:00", 403, ("填报员", "无权解锁")),
    ("张主任", "太平街道", "原因", "2024-06-02 18:00", 403, ("只能解锁宁德市及其下级地区", "太平街道")),
    ("admin", "蕉城区", "长" * 100_000, "2024-06-02 18:00", 422, ("最多 500 个字", "100000")),
    ("admin", "蕉城区", "原因", "2024-05-31 18:00", 422, ("已是过去的时间",)),
    ("admin", "蕉城区", "原因", "下周五", 400, ("无法识别", "2026-12-10 18:00")),
    ("admin", "蕉城区", "  ", "2024-06-02 18:00", 422, ("须填写解锁原因",)),
    ("admin", "火星区", "原因", "2024-06-02 18:00", 404, ("火星区",)),
    ("admin", "蕉城区", "原因", "2024-12-31 18:00", 422, ("最长 90 天",)),
])
def test_bad_unlocks_are_refused_in_chinese_and_change_nothing(con, admin, who, region, reason, expires,
                                                               status, words):
    _setting(con, "lock_days.月度", "30")
    before = _count(con)
    with pytest.raises(LockError) as exc:
        period_locks.unlock(con, accounts.get_user(con, who), region, "2024-03", reason, expires,
                            now=dt.datetime(2024, 6, 1, 9, 0))
    assert exc.value.status == status
    for word in words:
        assert word in str(exc.value), (word, str(exc.value))
    assert _count(con) == before


def test_the_scoped_admin_unlocks_inside_its_region(con, admin):
    _setting(con, "lock_days.月度", "30")
    item = period_locks.unlock(con, accounts.get_user(con, "张主任"), "350902", "2024-03", "更正", "2024-06-02 18:00",
                               now=dt.datetime(2024, 6, 1, 9, 0))
    assert item.region_name == "蕉城区" and item.granted_by == "张主任"


def test_no_lock_setting_no_unlock(con, admin):
    with pytest.raises(LockError) as exc:
        period_locks.unlock(con, admin, "蕉城区", "2024-03", "更正", "2024-06-02 18:00",
                            now=dt.datetime(2024, 6, 1))
    assert exc.value.status == 409 and "无需解锁" in str(exc.value) and _count(con) == (0, 0)


def test_revoke_ends_an_unlock_at_once(con, tmp_path, admin):
    _setting(con, "lock_days.月度", "0")
    at = dt.datetime(2024, 6, 1, 9, 0)
    item = period_locks.unlock(con, admin, "蕉城区", "2024-03", "更正", "2024-06-02 18:00", now=at)
    period_locks.revoke(con, admin, item.unlock_id, now=at + dt.timedelta(minutes=5))
    out = _ingest(con, tmp_path, _file(con, tmp_path, "a.xlsx", (800, 1000)), at + dt.timedelta(minutes=10))
    assert out.status == "rejected"
    with pytest.raises(LockError) as exc:
        period_locks.revoke(con, admin, item.unlock_id, now=at + dt.timedelta(minutes=11))
    assert exc.value.status == 409 and "已撤销" in str(exc.value)


# ------------------------------------------------------------------ answers to warnings
def _february(con):
    """February at 93 %: a March at 57 % jumps 36 pp (rate_jump)."""
    load_rows(con, [ReturnRow("350902", code, parse_period("2024-02"), 930, 1000, sheet="填报表", row_number=6 + i,
                              numerator_cell=f"C{6 + i}", denominator_cell=f"D{6 + i}")
                    for i, code in enumerate((ACT, SET))],
              SubmissionMeta("feb.xlsx", "feb-hash", "reporter_a", "web"), now=dt.datetime(2024, 3, 5))


def test_a_warning_that_must_be_answered_refuses_the_file_until_answered(con, tmp_path, admin):
    _february(con)
    _setting(con, "warning.must_answer", "rate_jump")
    at = dt.datetime(2024, 4, 8)
    out = _ingest(con, tmp_path, _file(con, tmp_path, "m.xlsx", (570, 1000), sett=(930, 1000)), at)
    assert out.status == "rejected"
    [err] = out.errors
    assert err.sheet == "填报表" and err.cell == "C6"
    assert "填报表!C6 的警告（比率较上期跳变）须填写说明后才能提交" in err.message and "备注" in err.message
    assert con.execute("SELECT count(*) FROM return_values WHERE period = '2024-03'").fetchone()[0] == 0

    # the upload page's preview marks it instead, so that it can be answered there
    batch = check_files(con, [_file(con, tmp_path, "m.xlsx", (570, 1000), sett=(930, 1000))], dry_run=True,
                        today=at.date(), defer_answers=True)
    [w] = [w for w in batch.outcomes[0].warnings if w.kind == "rate_jump"]
    assert batch.outcomes[0].errors == [] and w.required and w.answer is None

    # answered in the 备注 column: accepted, the 说明 stored with the submission
    noted = _ingest(con, tmp_path, _file(con, tmp_path, "noted.xlsx", (570, 1000), sett=(930, 1000),
                                         note="3月起按新口径统计激活人数"), at)
    assert noted.status == "accepted"
    rows = con.execute(
        "SELECT kind, cell, answer, source, region_code || ' ' || indicator_code || ' ' || period "
        "FROM warning_answers WHERE submission_id = ? ORDER BY kind", [noted.submission_id]).fetchall()
    # the row's 备注 answers every warning of the row: the jump and the fall of a stock (激活人数)
    assert rows == [(kind, "C6", "3月起按新口径统计激活人数", "note", f"350902 {ACT} 2024-03")
                    for kind in ("rate_jump", "stock_fall")]
    sub = review.get(con, noted.submission_id)
    assert [(a["kind"], a["answer"]) for a in sub.answers] == [("rate_jump", "3月起按新口径统计激活人数"),
                                                               ("stock_fall", "3月起按新口径统计激活人数")]
    assert sub.answers[0]["kind_label"] == "比率较上期跳变"
    queued = next(s for s in review.pending(con, admin) if s.submission_id == noted.submission_id)
    assert [a["cell"] for a in queued.answers] == ["C6", "C6"]
    assert any(w.get("answer") == "3月起按新口径统计激活人数" for w in sub.warnings)


def test_an_answer_given_on_the_upload_page_is_stored(con, tmp_path, admin):
    _february(con)
    _setting(con, "warning.must_answer", "比率较上期跳变")
    path = _file(con, tmp_path, "m.xlsx", (570, 1000), sett=(930, 1000))
    key = "填报表!C6|rate_jump"
    too_long = _ingest(con, tmp_path, path, dt.datetime(2024, 4, 8), answers={key: "字" * 501})
    assert too_long.status == "rejected" and "最多 500 个字" in too_long.errors[0].message
    out = _ingest(con, tmp_path, path, dt.datetime(2024, 4, 8), answers={key: "新增两个社区的数据"})
    assert out.status == "accepted"
    found = warning_answers.for_values(con, [(out.submission_id, "350902", ACT, "2024-03")])
    [a] = found[(out.submission_id, "350902", ACT, "2024-03")]
    assert a["answer"] == "新增两个社区的数据" and a["source_label"] == "报送页面"


def test_unknown_warning_kinds_are_refused_as_a_setting():
    assert "不是警告类型" in warning_answers.check_setting("warning.must_answer", "rate_jump, 天气")
    assert warning_answers.check_setting("warning.must_answer", "rate_jump，与同级地区相比异常") is None


# ------------------------------------------------------------------ command line
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"GX_ANALYTICS_ENABLED": "false", "PATH": "/usr/bin:/bin"}, timeout=300)


def test_the_command_line_sets_locks_unlocks_and_refuses(warehouse_path, tmp_path):
    con = db.connect(warehouse_path)
    accounts.add_user(con, "admin", "admin", PASSWORD)
    accounts.add_user(con, "city", "reporter", PASSWORD, region="350900")
    path = _file(con, tmp_path, "cli.xlsx", (800, 1000))
    con.close()
    db_arg = ("--db", str(warehouse_path))
    bad = _cli("settings", *db_arg, "--set", "lock_days.月度=三十")
    assert bad.returncode == 2 and "0 到 3660 之间的整数天数" in bad.stderr
    assert _cli("settings", *db_arg, "--set", "lock_days.月度=30").returncode == 0
    refused = _cli("ingest", *db_arg, "--archive-dir", str(tmp_path / "raw"), str(path))
    assert refused.returncode == 1 and "已于 2024-05-11 00:00 锁定" in refused.stderr and "admin" in refused.stderr
    denied = _cli("unlock", "grant", *db_arg, "--user", "city", "--region", "蕉城区", "--period", "2024-03",
                  "--reason", "更正", "--expires", (dt.datetime.now() + dt.timedelta(days=1)).isoformat())
    assert denied.returncode == 2 and "无权解锁" in denied.stderr
    expiry = (dt.datetime.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    granted = _cli("unlock", "grant", *db_arg, "--user", "admin", "--region", "蕉城区", "--period", "2024-03",
                   "--reason", "补报漏报社区", "--expires", expiry.isoformat())
    assert granted.returncode == 0 and f"有效期至 {expiry:%Y-%m-%d %H:%M}" in granted.stdout
    listed = _cli("unlock", "list", *db_arg)
    assert "蕉城区" in listed.stdout and "生效中" in listed.stdout and "补报漏报社区" in listed.stdout
    accepted = _cli("ingest", *db_arg, "--archive-dir", str(tmp_path / "raw"), str(path))
    assert accepted.returncode == 0 and "已接收" in accepted.stdout

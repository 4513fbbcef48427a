"""pipelines/review.py on a real warehouse in tmp: the queue by scope, the diff against the
values replaced, 通过 / 退回, every refusal changing nothing, the link of a corrected upload."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from webserver import PASSWORD, fill_template  # noqa: E402

from pipelines.accounts import users as accounts
from pipelines import db
from pipelines.workflow import review
from pipelines.returns.ingest import ingest_files

CITY, TOWN_A, TOWN_B = "350900", "350902", "350981"


@pytest.fixture
def setup(con, tmp_path):
    accounts.add_user(con, "viewer", "viewer", PASSWORD)
    accounts.add_user(con, "town_a", "reporter", PASSWORD, region=TOWN_A)
    accounts.add_user(con, "town_b", "reporter", PASSWORD, region=TOWN_B)
    accounts.add_user(con, "city", "reporter", PASSWORD, region=CITY)
    accounts.add_user(con, "admin", "admin", PASSWORD)
    users = {u.name: u for u in accounts.list_users(con)}
    first = fill_template(con, TOWN_A, "2024-03", tmp_path / "蕉城_2024-03.xlsx", 90, 100)
    fixed = fill_template(con, TOWN_A, "2024-03", tmp_path / "蕉城_2024-03_更正.xlsx", 95, 100)
    return users, first, fixed, tmp_path


def _ingest(con, path, tmp_path, user="town_a"):
    out = ingest_files(con, [path], user=user, channel="web", archive_dir=tmp_path / "raw")[0]
    assert out.status == "accepted", out.line()
    return out.submission_id


def _count(con, table):
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_queue_scope_decisions_and_correction_link(con, setup):
    users, first, fixed, tmp = setup
    sid = _ingest(con, first, tmp)
    assert review.get(con, sid).state == "pending"
    assert review.get(con, sid).state_label == "待审核"
    # the queue: the city and the admin see it; the town itself, the other town and viewers do not
    assert [s.submission_id for s in review.pending(con, users["city"])] == [sid]
    assert [s.submission_id for s in review.pending(con, users["admin"])] == [sid]
    for name in ("town_a", "town_b", "viewer"):
        assert review.pending(con, users[name]) == []
    values = review.values_with_diff(con, sid)
    assert values and all(v["numerator"] == 90 and v["old_numerator"] is None for v in values)
    assert {v["region_code"] for v in values} == {TOWN_A}

    # refusals, nothing changed
    before = (_count(con, "submission_reviews"), _count(con, "audit_log"))
    cases = [
        (users["town_a"], "approve", "", 403, "无权审核"),       # its own level
        (users["town_b"], "approve", "", 403, "无权审核"),       # a sibling
        (users["viewer"], "approve", "", 403, "无审核权限"),
        (users["city"], "reject", "", 422, "须填写审核意见"),
        (users["city"], "reject", "错" * 100_000, 422, "最多 500 个字"),
        (users["city"], "maybe", "x", 400, "审核结论无效"),
    ]
    for user, decision, comment, status, words in cases:
        with pytest.raises(review.ReviewError) as err:
            review.decide(con, sid, user, decision, comment)
        assert err.value.status == status and words in str(err.value), str(err.value)
    with pytest.raises(review.ReviewError) as err:
        review.decide(con, 999_999, users["admin"], "approve")
    assert err.value.status == 404
    assert (_count(con, "submission_reviews"), _count(con, "audit_log")) == before

    at = dt.datetime(2024, 4, 12, 9, 30)
    done = review.decide(con, sid, users["city"], "reject", "  门诊结算人次与上月差距过大，请核实  ", now=at)
    assert (done.state, done.reviewer, done.comment, done.decided_at) == (
        "returned", "city", "门诊结算人次与上月差距过大，请核实", at)
    with pytest.raises(review.ReviewError) as err:
        review.decide(con, sid, users["admin"], "approve")
    assert err.value.status == 409 and "2024-04-12 09:30 由 city 审核为“退回”" in str(err.value)
    assert [s.submission_id for s in review.returned_to(con, "town_a")] == [sid]
    assert review.returned_to(con, "town_b") == []

    # the corrected upload links to the returned one; its diff shows the values it replaces
    sid2 = _ingest(con, fixed, tmp)
    assert review.get(con, sid2).corrects_id == sid
    assert review.returned_to(con, "town_a") == []
    diff = review.values_with_diff(con, sid2)
    assert diff and all((v["numerator"], v["old_numerator"], v["old_submission_id"]) == (95, 90, sid)
                        for v in diff)
    assert review.decide(con, sid2, users["admin"], "approve").state == "approved"
    assert review.pending(con, users["city"]) == []
    log = con.execute("SELECT actor, action, subject FROM audit_log WHERE action LIKE 'review.%' "
                      "ORDER BY logged_at").fetchall()
    assert log == [("city", "review.return", first.name), ("admin", "review.approve", fixed.name)]
    from pipelines.accounts import audit_log
    assert audit_log.action_label("review.return") == "审核退回"
    text = audit_log.describe("review.return", "ok", {"submission_id": sid, "uploaded_by": "town_a",
                                                      "regions": [TOWN_A], "periods": ["2024-03"],
                                                      "comment": "请核实"})
    assert text == f"报送 #{sid}（town_a 报送，地区 350902，统计期 2024-03）；意见：请核实"


def test_rejected_file_cannot_be_reviewed(con, setup):
    users, first, _, tmp = setup
    from openpyxl import load_workbook
    wb = load_workbook(first)
    wb.worksheets[0]["C6"] = "六十"
    wb.save(first)
    out = ingest_files(con, [first], user="town_a", channel="web", archive_dir=tmp / "raw")[0]
    assert out.status == "rejected"
    assert review.get(con, out.submission_id).state is None
    assert review.pending(con, users["admin"]) == []
    with pytest.raises(review.ReviewError) as err:
        review.decide(con, out.submission_id, users["admin"], "approve")
    assert err.value.status == 422 and "已被拒收" in str(err.value)
    assert _count(con, "submission_reviews") == 0


def test_city_upload_for_its_town_is_reviewed_by_the_city(con, setup):
    users, first, _, tmp = setup
    sid = _ingest(con, first, tmp, user="city")        # the city uploads for its town
    assert review.pending(con, users["city"])[0].submission_id == sid   # the city may review the town
    assert review.pending(con, users["town_a"]) == []


def test_demo_approval_marks_pending_once(con, setup):
    users, first, _, tmp = setup
    sid = _ingest(con, first, tmp)
    assert review.approve_all_pending(con, "示例数据", "示例数据：由示例程序审核通过") == 1
    assert review.get(con, sid).state == "approved"
    assert review.approve_all_pending(con, "示例数据", "x") == 0


def test_corrections_in_one_batch_link_one_returned_each(con, setup):
    """Two returned uploads of the same region and period (#a older, #b newer), then two
    corrections in one batch: the first correction answers #b, the second #a — as if each had
    been loaded alone; a third correction, with nothing returned left, links nothing."""
    users, first, fixed, tmp = setup
    a = _ingest(con, first, tmp)
    review.decide(con, a, users["city"], "reject", "请核实")
    b = _ingest(con, fixed, tmp)
    assert review.get(con, b).corrects_id == a          # b answers a at once …
    review.decide(con, b, users["city"], "reject", "仍有误")
    con.execute("DELETE FROM submission_corrections")    # … forget it: both returned, unanswered
    assert [s.submission_id for s in review.returned_to(con, "town_a")] == [b, a]
    c_file = fill_template(con, TOWN_A, "2024-03", tmp / "c.xlsx", 96, 100)
    d_file = fill_template(con, TOWN_A, "2024-03", tmp / "d.xlsx", 97, 100)
    e_file = fill_template(con, TOWN_A, "2024-03", tmp / "e.xlsx", 98, 100)
    c, d, e = (o.submission_id for o in ingest_files(con, [c_file, d_file, e_file], user="town_a",
                                                        channel="web", archive_dir=tmp / "raw"))
    assert c < d < e
    assert (review.get(con, c).corrects_id, review.get(con, d).corrects_id, review.get(con, e).corrects_id) == \
        (b, a, None)
    assert review.returned_to(con, "town_a") == []

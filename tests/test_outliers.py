"""The outlier warnings (pipelines/returns/outliers.py): the Iglewicz–Hoaglin modified z-score on
hand-built histories and peer groups, computed by hand here, and the warnings an upload gets
from a real warehouse — a true jump flagged, seasonal noise not."""
from __future__ import annotations

import datetime as dt

import pytest

import returns_factory as rf
from pipelines.periods import parse_period
from pipelines.returns.ingest import ingest_files
from pipelines.returns.load import ReturnRow, SubmissionMeta, load_rows
from pipelines.returns.outliers import modified_z

HEADER = ("地区", "统计期", "指标", "分子", "分母", "备注")
ACT, SET = "evoucher_activation_rate", "evoucher_settlement_rate"
TODAY = dt.date(2025, 6, 15)
# 宁德市's units besides 蕉城区 (350902)
PEERS = ("350981", "350982", "350921", "350922", "350923", "350924", "350925", "350926", "350900901")


def test_a_true_jump_scores_far_beyond_the_threshold():
    # twelve months around 80 %, then 60 %: sample of 13 (x included)
    history = [80.0, 81.0, 80.5, 79.5, 80.0, 79.0, 80.5, 80.0, 81.0, 79.5, 80.0, 80.5]
    # sorted: 60, 79, 79.5, 79.5, 80, 80, 80, 80, 80.5, 80.5, 80.5, 81, 81 → median 80 (7th)
    # |x − 80|: 20, 1, .5, .5, 0, 0, 0, 0, .5, .5, .5, 1, 1 → sorted, 7th = 0.5 = MAD
    z = modified_z(60.0, history + [60.0])
    assert z == pytest.approx(0.6745 * (60 - 80) / 0.5)          # −26.98
    assert abs(z) > 3.5


def test_seasonal_noise_is_not_flagged():
    season = [60, 62, 66, 70, 72, 74, 74, 72, 70, 66, 62, 60]      # two years of the same swing
    sample = season * 2 + [61]                                    # a January at 61
    # sorted 25: 60×4, 61, 62×4, 66×4, … → median (13th) 66; |x − 66|: 0×4, 4×8, 5, 6×8, 8×4 → MAD 5
    z = modified_z(61, sample)
    assert z == pytest.approx(0.6745 * (61 - 66) / 5)             # −0.67
    assert abs(z) < 3.5
    # nor is the swing's peak: with 74 added the median is 70 (13th of 60×4, 62×4, 66×4, 70×4, 72×4,
    # 74×5) and |x − 70| is 0×4, 2×4, 4×9, 8×4, 10×4 → MAD 4; M = 0.6745 · (74 − 70) / 4
    assert modified_z(74, season * 2 + [74]) == pytest.approx(0.6745 * (74 - 70) / 4)


def test_mad_zero_falls_back_on_the_mean_absolute_deviation():
    sample = [5, 5, 5, 5, 5, 5, 9]
    # median 5, MAD 0; mean |x − 5| = 4/7 → (9 − 5) / (1.253314 · 4/7) = 5.585
    assert modified_z(9, sample) == pytest.approx(4 / (1.253314 * 4 / 7))
    assert modified_z(5, [5] * 7) is None                          # nothing to judge


def _history(con, region, code, values, year=2023, den=1000):
    rows = [ReturnRow(region, code, parse_period(f"{year + (i // 12)}-{i % 12 + 1:02d}"), v, den, sheet="数据",
                      row_number=2 + i, numerator_cell=f"D{2 + i}", denominator_cell=f"E{2 + i}")
            for i, v in enumerate(values)]
    load_rows(con, rows, SubmissionMeta(f"{region}-{code}-history.xlsx", f"h-{region}-{code}", "cli", "cli"),
              now=dt.datetime(2024, 1, 5))


def _upload(con, tmp_path, rows, name="up.xlsx"):
    path = rf.long_table(tmp_path / name, rows, header=HEADER)
    [out] = ingest_files(con, [path], archive_dir=tmp_path / "raw", today=TODAY, dry_run=True)
    return out


def test_an_upload_far_from_its_own_history_is_warned(con, tmp_path):
    _history(con, "350902", ACT, [800, 810, 805, 795, 800, 790, 805, 800, 810, 795, 800, 805])
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证激活率", 600, 1000, None)])
    hist = [w for w in out.warnings if w.kind == "outlier_history"]
    assert len(hist) == 1 and hist[0].cell == "D2" and hist[0].sheet == "数据"
    assert "60.0%" in hist[0].message and "近 12 期" in hist[0].message and "中位数 80.0%" in hist[0].message
    assert "-27.0" in hist[0].message and "3.5" in hist[0].message
    assert hist[0].key == ("350902", ACT, "2024-01")


def test_a_seasonal_value_within_its_usual_swing_is_not_warned(con, tmp_path):
    season = [600, 620, 660, 700, 720, 740, 740, 720, 700, 660, 620, 600]   # 60 … 74 %, twice
    _history(con, "350902", SET, season * 2, year=2022)
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证结算率", 610, 1000, None)])
    assert [w for w in out.warnings if w.kind and w.kind.startswith("outlier")] == []
    # the threshold is a setting: at 0.5 the same January (|M| = 0.67) is flagged
    con.execute("UPDATE settings SET value = '0.5' WHERE key = 'outlier.threshold'")
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证结算率", 610, 1000, None)], "again.xlsx")
    assert [w.kind for w in out.warnings if w.kind == "outlier_history"] == ["outlier_history"]


def test_too_short_a_history_is_not_judged(con, tmp_path):
    _history(con, "350902", ACT, [800, 810, 805, 795])                   # 4 + x = 5 < outlier.min_points 6
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证激活率", 100, 1000, None)])
    assert [w for w in out.warnings if w.kind == "outlier_history"] == []


def test_an_upload_far_from_its_peers_is_warned_and_a_near_one_is_not(con, tmp_path):
    rates = (78, 79, 80, 80, 81, 82, 79, 80, 81)
    rows = [ReturnRow(code, ACT, parse_period("2024-01"), r * 10, 1000, sheet="数据", row_number=2 + i,
                      numerator_cell=f"D{2 + i}", denominator_cell=f"E{2 + i}") for i, (code, r) in enumerate(zip(PEERS, rates))]
    load_rows(con, rows, SubmissionMeta("peers.xlsx", "peers", "cli", "cli"), now=dt.datetime(2024, 2, 5))
    # 50 among them: sorted 50, 78, 79, 79, 80, 80, 80, 81, 81, 82 → median 80; MAD median(30, 2, 1, 1,
    # 0, 0, 0, 1, 1, 2) = 1 → M = 0.6745 · (50 − 80) / 1 = −20.2
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证激活率", 500, 1000, None)])
    peers = [w for w in out.warnings if w.kind == "outlier_peers"]
    assert len(peers) == 1 and "宁德市下 10 个地区" in peers[0].message and "-20.2" in peers[0].message
    # 83: median 80, MAD 1 → M = 2.02: not flagged
    out = _upload(con, tmp_path, [("蕉城区", "2024-01", "医保电子凭证激活率", 830, 1000, None)], "near.xlsx")
    assert [w for w in out.warnings if w.kind == "outlier_peers"] == []

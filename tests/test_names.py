"""The one resolver (pipelines/catalog/names.py): every part turns the same text into the same
code, and text that means two regions is an error naming both, wherever it is written."""
from __future__ import annotations

import pytest

import returns_factory as rf
from pipelines.accounts import users as accounts
from pipelines.catalog.names import ResolveError, region_names, resolve_region
from pipelines.metrics import Metrics
from pipelines.returns.ingest import ingest_files

TAIPING = "331081001"          # 太平街道 of 温岭市, alias 太平 (targets/regions.yaml)
TWIN = "350902999"             # a second 太平街道, planted under 蕉城区 of 宁德市


def _plant_twin(con):
    con.execute("INSERT INTO regions VALUES (?, '太平街道', '350902', '350900', '街道', 2, 9999, TRUE)", [TWIN])


def test_code_name_alias_and_their_spellings_resolve_alike(con):
    for text in (TAIPING, "太平街道", "太平", " 太平街道 ", "太平　街道"):
        assert resolve_region(con, text) == TAIPING, text
    assert Metrics(con).resolve_region("太平") == TAIPING
    assert accounts.resolve_region(con, "太平") == TAIPING


def test_unknown_and_empty_text_say_what_to_write(con):
    with pytest.raises(ResolveError, match="未知地区“火星”：请使用 targets/regions.yaml"):
        resolve_region(con, "火星")
    with pytest.raises(ResolveError, match="未指定地区"):
        resolve_region(con, "  ")


def test_an_ambiguous_name_is_an_error_listing_both_everywhere(con, tmp_path):
    _plant_twin(con)
    with pytest.raises(ResolveError) as err:
        resolve_region(con, "太平街道")
    assert err.value.candidates == [TAIPING, TWIN] or err.value.candidates == [TWIN, TAIPING]
    message = str(err.value)
    assert f"太平街道（{TAIPING}）" in message and f"太平街道（{TWIN}）" in message and "请改用地区编码" in message
    # the same message from metrics (a ValueError for the CLI and API) and from accounts
    with pytest.raises(ValueError) as m_err:
        Metrics(con).resolve_region("太平街道")
    assert str(m_err.value) == message
    with pytest.raises(accounts.AccountError) as a_err:
        accounts.resolve_region(con, "太平街道")
    assert str(a_err.value) == message
    # codes stay unique, and the alias still means the one it was given to
    assert resolve_region(con, TWIN) == TWIN and resolve_region(con, "太平") == TAIPING
    # a return naming it: refused at its cell, with the candidates (not the first match taken)
    path = rf.long_table(tmp_path / "twin.xlsx", [("太平街道", "2024-01", "医保电子凭证激活率", 5, 10)])
    [out] = ingest_files(con, [path], user="t", channel="cli", archive_dir=tmp_path / "raw")
    assert out.status == "rejected"
    assert [(e.cell, "不唯一" in e.message, TWIN in e.message) for e in out.errors] == [("A2", True, True)]


def test_an_inactive_region_is_known_but_not_reportable(con):
    con.execute("UPDATE regions SET active = FALSE WHERE code = ?", [TAIPING])
    names = region_names(con)
    assert names.resolve("太平") == TAIPING
    with pytest.raises(ResolveError, match="未知地区“太平”"):
        names.resolve("太平", active_only=True)

"""Validate extracted returns with great-expectations, suites built from the catalog.

All files of a batch are checked as ONE frame (a GX run costs a fixed ~20 ms per expectation,
whatever the row count), and every failure is mapped back to its file, sheet and cell.
The value sets (known regions, indicators, allowed periods, the uploader's regions) are suite
parameters read from the warehouse catalog, so suites are built once per process and reused.

Errors block a file; warnings (stock values that fall, rates that jump, denominators that
swing; outliers against the region's history or its peers, returns/outliers.py) are reported
and do not block — unless the setting warning.must_answer says a kind must be answered with a
说明 first (the row's 备注 answers it: workflow/warning_answers.py). Each warning about a row
carries its `kind` and the row's key.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from pipelines.catalog.names import Names, indicator_names, region_names
from pipelines.returns.cells import match_key
from pipelines.returns.extract import Extraction, Issue, RawRow
from pipelines.returns.load import ReturnRow
from pipelines.metrics.reporting import Reporting
from pipelines.periods import Period, PeriodError, parse_period

RATE_JUMP_PP = 20.0
DENOMINATOR_SWING = 0.30
_UNREADABLE = 10**7        # period_index of a period that could not be read: fails "period"

# Allowed (kind, numerator state | denominator state) pairs: the catalog's rules for each kind.
_NUM_OK = ("zero", "pos", "bad")
# 0/0 is a valid report of a period with no business (no cases at all: status 无业务); a
# numerator with a zero denominator is not. A rate's numerator must come from the 分子 column
# (state "value": it was read from 数值/数量, which only counts use).
SHAPES = {  # kind -> allowed "numerator state|denominator state"
    "ratio": [f"{n}|{d}" for n in _NUM_OK for d in ("pos", "bad")] + ["zero|zero", "bad|zero"],
    "mean": [f"{n}|{d}" for n in _NUM_OK for d in ("pos", "bad")] + ["zero|zero", "bad|zero"],
    "count": [f"{n}|{d}" for n in _NUM_OK for d in ("empty", "bad")],
}


@dataclass
class CatalogView:
    """The parts of the warehouse catalog validation needs (read once per batch)."""
    region_by_key: dict[str, str]
    region_names: dict[str, str]
    indicator_by_key: dict[str, str]
    indicators: dict[str, dict]
    reporting: Reporting | None = None

    region_resolver: Names | None = None
    indicator_resolver: Names | None = None

    @classmethod
    def current(cls, con) -> "CatalogView":
        """`load`, remembered for as long as the tables it reads are unchanged.

        A return's checks read the catalog once per batch; building it (two resolvers, the
        region tree) costs ~13 ms on the city warehouse, a fifth of a typical return, while a
        content hash of the five tables it is built from costs ~2 ms. The key is that hash, so a
        region, alias, indicator or reporting-line edit made by any process (the CLI, another
        server) is seen by the next batch; equal content in another warehouse may share a view.
        A view is read-only once built, so threads share it."""
        stamp = con.execute(_CATALOG_STAMP_SQL).fetchone()
        view = _CATALOG_VIEWS.get(stamp)
        if view is None:
            view = cls.load(con)
            if len(_CATALOG_VIEWS) >= 8:
                _CATALOG_VIEWS.clear()
            _CATALOG_VIEWS[stamp] = view
        return view

    @classmethod
    def load(cls, con) -> "CatalogView":
        """From the one resolver (catalog/names.py): a return's region is an active one; text
        that means several is not taken as any of them (its message lists the candidates)."""
        regions, indicators = region_names(con), indicator_names(con)
        cur = con.execute("SELECT code, name, unit, kind, frequency, aggregation, is_share, scale, "
                          "numerator_label FROM indicators ORDER BY sort_order")
        cols = [d[0] for d in cur.description]
        inds = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
        active_names = {c: n for c, n in regions.name.items() if c in regions.active}
        return cls(regions.unique_keys(active_only=True), active_names, indicators.unique_keys(), inds,
                   Reporting.read(con), regions, indicators)

    def region(self, text: str) -> str | None:
        if self.region_resolver is not None:
            return self.region_resolver.get(text, active_only=True)
        return self.region_by_key.get(match_key(text))

    def region_problem(self, text: str) -> str:
        """Why a return's region text names no region (unknown, or which ones it may mean)."""
        if self.region_resolver is not None and self.region_resolver.ambiguous(text, active_only=True):
            return self.region_resolver.problem(text, active_only=True)
        example = next(iter(self.region_names.values()), "")
        return f"地区“{text}”无法识别：请填写系统登记的地区名称或编码（如 {example}）"

    def indicator_problem(self, text: str) -> str:
        if self.indicator_resolver is not None and self.indicator_resolver.ambiguous(text):
            return self.indicator_resolver.problem(text)
        return f"指标“{text}”无法识别：请使用模板中的指标名称或指标编码"


# The tables CatalogView.load reads (Reporting.read reads regions and reporting).
_CATALOG_STAMP_SQL = ("SELECT " + ", ".join(
    f"(SELECT count(*) || ':' || coalesce(sum(hash(t)), 0) FROM {table} t)"
    for table in ("regions", "region_aliases", "indicators", "indicator_aliases", "reporting")))
_CATALOG_VIEWS: dict[tuple, CatalogView] = {}


@dataclass
class FileValidation:
    rows: list[ReturnRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    scope_violation: bool = False


# ---------------------------------------------------------------- GX: one context per process
class Failure(NamedTuple):
    """One failed expectation: its check, its level and the frame rows that failed it."""
    check: str
    level: str
    rows: tuple[int, ...]


class _Engine:
    """Lazily created GX ephemeral context, datasource and suites (cached by variant)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()    # one validation at a time (GX is not thread-safe)
        self._ready = False
        self._suites: dict[tuple, object] = {}

    def _init(self):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        self.gx = gx
        self.ctx = gx.get_context(mode="ephemeral")
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        asset = self.ctx.data_sources.add_pandas("returns").add_dataframe_asset("rows")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("batch")
        self._ready = True

    def suite(self, checks: tuple[str, ...]):
        import great_expectations.expectations as gxe
        with self._lock:
            if not self._ready:
                self._init()
            if checks not in self._suites:
                suite = self.gx.ExpectationSuite(name="returns_" + "_".join(checks))
                for name in checks:
                    suite.add_expectation(_EXPECTATIONS[name](gxe))
                self._suites[checks] = self.ctx.suites.add(suite)
            return self._suites[checks]

    def run(self, frame: pd.DataFrame, checks: tuple[str, ...], params: dict) -> list[Failure]:
        """The failed expectations, each with every unexpected row index (plain tuples: the
        server runs this in its check workers, pipelines/returns/check_pool.py).

        Two passes: BOOLEAN_ONLY over the whole suite (cheap), then COMPLETE only for the
        expectations that failed, to get the rows. A clean batch pays for the first pass only.
        """
        suite = self.suite(checks)   # creates the context on first use
        with self._run_lock:
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            first = batch.validate(suite, result_format="BOOLEAN_ONLY", expectation_parameters=params)
            _raise_on_exception(first.results)
            failed = tuple(r.expectation_config.meta["check"] for r in first.results if not r.success)
            if not failed:
                return []
            second = batch.validate(self.suite(failed), result_format="COMPLETE", expectation_parameters=params)
            _raise_on_exception(second.results)
            return [Failure((r.expectation_config.meta or {}).get("check"),
                            (r.expectation_config.meta or {}).get("level", "error"),
                            tuple(int(i) for i in (r.result.get("unexpected_index_list") or [])))
                    for r in second.results if not r.success]


def _raise_on_exception(results) -> None:
    for res in results:
        if res.exception_info and res.exception_info.get("raised_exception"):
            check = (res.expectation_config.meta or {}).get("check")
            raise RuntimeError(f"GX 校验执行失败（{check}）：{res.exception_info.get('exception_message')}")


def _ex(cls_name: str, check: str, level: str, **kw):
    def make(gxe):
        return _remembering(getattr(gxe, cls_name))(meta={"check": check, "level": level}, **kw)
    return make


_REMEMBERING: dict[type, type] = {}


def _remembering(cls: type) -> type:
    """`cls` whose `configuration` is built once per instance.

    GX 1.x rebuilds an expectation's configuration from its pydantic fields on every access
    (`Expectation.configuration`: `self.dict()` and a new ExpectationConfiguration), and one
    validation reads it ~100 times per expectation while it builds its metric graph: half of a
    typical return's GX run (profiled: 1.36 s of 2.49 s over 12 runs). The validator makes
    fresh instances from the suite's configurations on every run (`to_domain_obj`, with the
    run's parameters substituted) and sets no field of them afterwards, so an instance's
    configuration is fixed once it exists. Not so the suite's own instances: the validator
    substitutes a run's parameters into the configurations it reads from the suite, in place
    and once (`process_suite_parameters`), so a configuration that still holds a `$PARAMETER`
    is never kept (the next run's parameters would not reach it). The subclass is registered under its own type name
    (`<name>_remembered`) and uses the parent's metrics, renderers and validation unchanged.
    """
    if cls not in _REMEMBERING:
        from great_expectations.compatibility import pydantic
        from great_expectations.core.suite_parameters import is_suite_parameter

        def configuration(self):
            if self._remembered_configuration is not None:
                return self._remembered_configuration
            config = cls.configuration.fget(self)
            if not any(is_suite_parameter(v) for v in config.kwargs.values()):
                self._remembered_configuration = config
            return config

        _REMEMBERING[cls] = type(cls.__name__ + "Remembered", (cls,), {
            "__module__": __name__,
            "__annotations__": {"_remembered_configuration": object},
            "_remembered_configuration": pydantic.PrivateAttr(default=None),
            "configuration": property(configuration),
        })
    return _REMEMBERING[cls]


# The suite, from the catalog: value sets are parameters filled from the warehouse per batch.
_EXPECTATIONS = {
    "region": _ex("ExpectColumnValuesToBeInSet", "region", "error", column="region_code",
                  value_set={"$PARAMETER": "accepted_regions"}),
    "indicator": _ex("ExpectColumnValuesToBeInSet", "indicator", "error", column="indicator_code",
                     value_set={"$PARAMETER": "indicator_codes"}),
    "period": _ex("ExpectColumnValuesToBeBetween", "period", "error", column="period_index",
                  max_value={"$PARAMETER": "last_reportable_month"}),
    "shape": _ex("ExpectColumnValuesToBeInSet", "shape", "error", column="kind_shape",
                 value_set=[f"{k}:{s}" for k, shapes in SHAPES.items() for s in shapes] + ["?:?"]),
    "share": _ex("ExpectColumnPairValuesAToBeGreaterThanB", "share", "error", column_A="share_denominator",
                 column_B="numerator", or_equal=True, ignore_row_if="either_value_is_missing"),
    "unique": _ex("ExpectColumnValuesToBeUnique", "unique", "error", column="value_key"),
    "stock_fall": _ex("ExpectColumnValuesToBeBetween", "stock_fall", "warning", column="stock_drop",
                      max_value=0),
    "rate_jump": _ex("ExpectColumnValuesToBeBetween", "rate_jump", "warning", column="rate_change_pp",
                     max_value=RATE_JUMP_PP),
    "den_swing": _ex("ExpectColumnValuesToBeBetween", "den_swing", "warning", column="den_change",
                     max_value=DENOMINATOR_SWING),
}
# An expectation runs only when its column holds something (an all-empty column passes trivially).
_DOMAIN = {"share": "share_denominator", "stock_fall": "stock_drop", "rate_jump": "rate_change_pp",
           "den_swing": "den_change"}

_ENGINE = _Engine()


def warm_up() -> None:
    """Create the GX context and the common suites now (e.g. at server start)."""
    for checks in (("region", "indicator", "period", "shape", "unique"),):
        _ENGINE.suite(checks)


# ---------------------------------------------------------------- frame
def _state(x: float | None, bad: bool) -> str:
    if bad:
        return "bad"
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "empty"
    if x < 0:
        return "neg"
    if not float(x).is_integer():
        return "frac"
    return "zero" if x == 0 else "pos"


def _num_state(raw: RawRow, ind: dict, bad: bool) -> str:
    if raw.numerator_from_value and ind["kind"] != "count" and not bad:
        return "value"
    return _state(raw.numerator, bad)


@dataclass
class _Row:
    file_idx: int
    raw: RawRow
    region_code: str | None
    indicator_code: str | None
    period: Period | None
    period_error: str | None


def _resolve(extractions: list[Extraction], cat: CatalogView) -> list[_Row]:
    out = []
    for i, ex in enumerate(extractions):
        for raw in ex.rows:
            try:
                period, perr = parse_period(raw.period), None
            except PeriodError as exc:
                period, perr = None, str(exc)
            out.append(_Row(i, raw, cat.region(raw.region), cat.indicator_by_key.get(match_key(raw.indicator)),
                            period, perr))
    return out


def _previous_values(con, rows: list[_Row]) -> dict[tuple, tuple]:
    """(file_idx, region, indicator, period) -> (numerator, denominator) of the period before."""
    in_file = {(r.file_idx, r.region_code, r.indicator_code, r.period.code): (r.raw.numerator, r.raw.denominator)
               for r in rows if r.region_code and r.indicator_code and r.period}
    wanted = {(r.region_code, r.indicator_code, r.period.previous().code)
              for r in rows if r.region_code and r.indicator_code and r.period}
    stored: dict[tuple, tuple] = {}
    if wanted:
        keys = pd.DataFrame(sorted(wanted), columns=["region_code", "indicator_code", "period"])
        con.register("_prev_keys", keys)
        try:
            for reg, ind, per, num, den in con.execute(
                    "SELECT v.region_code, v.indicator_code, v.period, v.numerator, v.denominator "
                    "FROM return_values v JOIN _prev_keys k USING (region_code, indicator_code, period) "
                    "WHERE v.superseded_at IS NULL").fetchall():
                stored[(reg, ind, per)] = (num, den)
        finally:
            con.unregister("_prev_keys")
    out = {}
    for r in rows:
        if not (r.region_code and r.indicator_code and r.period):
            continue
        prev = r.period.previous().code
        hit = in_file.get((r.file_idx, r.region_code, r.indicator_code, prev)) or \
            stored.get((r.region_code, r.indicator_code, prev))
        if hit:
            out[(r.file_idx, r.region_code, r.indicator_code, r.period.code)] = hit
    return out


def _frame(rows: list[_Row], cat: CatalogView, prev: dict) -> pd.DataFrame:
    nan = float("nan")
    recs = []
    for r in rows:
        ind = cat.indicators.get(r.indicator_code) if r.indicator_code else None
        num, den = r.raw.numerator, r.raw.denominator
        nbad, dbad = r.raw.numerator_cell in r.raw.bad_cells, r.raw.denominator_cell in r.raw.bad_cells
        key = (r.file_idx, r.region_code, r.indicator_code, r.period.code if r.period else None)
        p_num, p_den = prev.get(key, (None, None))
        stock_drop = rate_pp = den_change = nan
        if ind and p_num is not None and num is not None:
            if ind["aggregation"] == "stock" and ind["kind"] != "mean":
                drops = [p_num - num] + ([p_den - den] if den is not None and p_den is not None else [])
                stock_drop = max(drops)
            if ind["kind"] == "ratio" and den and p_den:
                rate_pp = abs(ind["scale"] * (num / den - p_num / p_den))
            if den and p_den:
                den_change = abs(den / p_den - 1)
        resolved = r.region_code and r.indicator_code and r.period
        recs.append({
            "region_code": r.region_code or "",
            "indicator_code": r.indicator_code or "",
            "period_index": r.period.year * 12 + r.period.month_from if r.period else _UNREADABLE,
            "kind_shape": f"{ind['kind']}:{_num_state(r.raw, ind, nbad)}|{_state(den, dbad)}" if ind else "?:?",
            "value_key": f"{r.file_idx}|{r.region_code}|{r.indicator_code}|{r.period.code}" if resolved else None,
            "numerator": nan if num is None else float(num),
            "share_denominator": float(den) if ind and ind["is_share"] and den else nan,
            "stock_drop": stock_drop, "rate_change_pp": rate_pp, "den_change": den_change,
        })
    return pd.DataFrame.from_records(recs)


# ---------------------------------------------------------------- messages
def _message(check: str, r: _Row, cat: CatalogView, allowed: set[str] | None, prev: tuple) -> tuple[str, str]:
    """(cell, Chinese message with the fix) for one failed row."""
    raw = r.raw
    if check == "region":
        if not raw.region:
            return raw.region_cell, "地区为空：请填写地区名称或编码"
        if r.region_code is None:
            return raw.region_cell, cat.region_problem(raw.region)
        names = "、".join(cat.region_names.get(c, c) for c in sorted(allowed or []))
        return raw.region_cell, (f"无权报送地区“{cat.region_names.get(r.region_code, raw.region)}”的数据："
                                 f"本账号只能报送 {names}，请删除该行或由该地区自行报送")
    if check == "indicator":
        if not raw.indicator:
            return raw.indicator_cell, "指标为空：请填写指标名称或指标编码"
        return raw.indicator_cell, cat.indicator_problem(raw.indicator)
    if check == "period":
        if r.period_error:
            return raw.period_cell, r.period_error
        return raw.period_cell, f"统计期 {r.period.label} 尚未开始，不能报送：请检查年份和月份"
    if check == "shape":
        ind = cat.indicators[r.indicator_code]
        num_s, den_s = _state(raw.numerator, False), _state(raw.denominator, False)
        n_label = f"分子（{ind['name']}）"
        if raw.numerator_from_value:
            return raw.numerator_cell, (
                f"“{ind['name']}”是比率指标，分子须填在“分子”列（{ind['numerator_label']}）："
                "“数量”“数值”列只用于计数指标。请在表头加上“分子”列并把该数填在其下")
        if num_s == "empty":
            return raw.numerator_cell, f"{n_label}为空：请填写数字（没有发生请填 0）"
        if num_s in ("neg", "frac"):
            return raw.numerator_cell, f"分子 {raw.numerator:g} 不是不小于 0 的整数：请填写人数、件数等整数"
        if ind["kind"] == "count":
            return raw.denominator_cell or raw.numerator_cell, \
                f"“{ind['name']}”是计数指标，分母应留空：请把数量填在分子（数值）列，清空分母"
        if den_s == "empty":
            return raw.denominator_cell or raw.numerator_cell, "分母为空：比率指标必须填写分母"
        if den_s == "zero":
            return raw.denominator_cell, (
                f"分母为 0 而分子为 {raw.numerator:g}：有业务时分母必须大于 0；本期没有任何业务"
                "请把分子、分母都填 0")
        return raw.denominator_cell, f"分母 {raw.denominator:g} 不是正整数：请填写人数、件数等整数"
    if check == "share":
        return raw.numerator_cell, (f"分子 {raw.numerator:g} 大于分母 {raw.denominator:g}（比率超过 100%）："
                                    f"请核对 {raw.numerator_cell} 和 {raw.denominator_cell}")
    if check == "stock_fall":
        p_num, p_den = prev
        if p_num is not None and raw.numerator < p_num:
            return raw.numerator_cell, (f"分子 {raw.numerator:g} 比上期（{r.period.previous().label}）的 {p_num:g} 减少："
                                        "该指标为期末存量（累计）数，通常不会下降，请核对")
        return raw.denominator_cell or raw.numerator_cell, (
            f"分母 {raw.denominator:g} 比上期（{r.period.previous().label}）的 {p_den:g} 减少：该指标为期末存量，请核对")
    if check == "rate_jump":
        p_num, p_den = prev
        ind = cat.indicators[r.indicator_code]
        now, before = ind["scale"] * raw.numerator / raw.denominator, ind["scale"] * p_num / p_den
        return raw.numerator_cell, (f"比率 {now:.1f}% 比上期（{r.period.previous().label}）的 {before:.1f}% "
                                    f"变化超过 {RATE_JUMP_PP:g} 个百分点：请核对分子和分母")
    if check == "den_swing":
        p_den = prev[1]
        return raw.denominator_cell, (f"分母 {raw.denominator:g} 比上期（{r.period.previous().label}）的 {p_den:g} "
                                      f"变化超过 {DENOMINATOR_SWING:.0%}：请核对")
    raise KeyError(check)


def _checks(frame: pd.DataFrame, scoped: bool) -> tuple[str, ...]:
    checks = ["region", "indicator", "period", "shape", "unique"]
    for name, col in _DOMAIN.items():
        if frame[col].notna().any():
            checks.append(name)
    return tuple(checks)


def run_checks(frame: pd.DataFrame, checks: tuple[str, ...], params: dict) -> list[Failure]:
    """The GX run of one batch in this process (the CLI; the server's check workers)."""
    return _ENGINE.run(frame, checks, params)


def validate(con, extractions: list[Extraction], *, allowed_regions: set[str] | None = None,
             today: dt.date | None = None, catalog: CatalogView | None = None,
             checker=None) -> list[FileValidation]:
    """Validate a batch; one FileValidation per extraction, rows ready to load if no errors.
    `checker`: what runs the GX suite (`.run(frame, checks, params)`, e.g. the server's
    check_pool.CheckPool); default this process."""
    today = today or dt.date.today()
    cat = catalog or CatalogView.current(con)
    results = [FileValidation() for _ in extractions]
    rows = _resolve(extractions, cat)
    rows = _owed_rows(rows, extractions, cat, results)
    if rows:
        prev = _previous_values(con, rows)
        frame = _frame(rows, cat, prev)
        accepted = cat.region_names if allowed_regions is None else allowed_regions
        params = {
            "accepted_regions": sorted(accepted),
            "indicator_codes": sorted(cat.indicators),
            "last_reportable_month": today.year * 12 + today.month,
        }
        run = checker.run if checker is not None else run_checks
        outcome = run(frame, _checks(frame, allowed_regions is not None), params)
        _map_failures(outcome, rows, cat, allowed_regions, prev, results)
        _outliers(con, rows, cat, results, extractions)
    rows_of: dict[int, list[_Row]] = {}
    for r in rows:
        rows_of.setdefault(r.file_idx, []).append(r)
    for i, ex in enumerate(extractions):
        res = results[i]
        res.errors = ex.errors + res.errors
        res.warnings = ex.warnings + res.warnings
        if not res.errors and ex.rows and not rows_of.get(i):
            res.errors.append(Issue("error", None, None,
                                    "文件中没有需要载入的数据：各行均为汇总行或本级无需报送的指标（见警告），"
                                    "请填写各地区自己的数据后再上传"))
        if not res.errors:
            res.rows = [ReturnRow(r.region_code, r.indicator_code, r.period, r.raw.numerator,
                                  r.raw.denominator, r.raw.note, r.raw.sheet, r.raw.row_number,
                                  r.raw.numerator_cell, r.raw.denominator_cell)
                        for r in rows_of.get(i, [])]
    return results


def _owed_rows(rows: list[_Row], extractions: list[Extraction], cat: CatalogView,
               results: list[FileValidation]) -> list[_Row]:
    """The rows that are data: a region reports an indicator only if it owes it (DESIGN "Who
    reports what"). A row for a region above the reporting units (a 全市 line) and a 合计 line
    are ignored with a warning that compares them with the sum of the units' rows in the same
    file; a unit's row for an indicator its jurisdiction's bureau reports is ignored too."""
    rep = cat.reporting
    kept: list[_Row] = []
    for r in rows:
        if rep is None or not (r.region_code and r.indicator_code) or r.region_code not in rep.tree.name \
                or rep.owes(r.region_code, r.indicator_code):
            kept.append(r)
            continue
        results[r.file_idx].warnings.append(_ignored(r, rows, rep, cat))
    for i, ex in enumerate(extractions):
        for raw in ex.totals:
            results[i].warnings.append(_total_warning(raw, i, rows, cat))
    return kept


def _key_of(raw_period) -> str | None:
    try:
        return parse_period(raw_period).code
    except PeriodError:
        return None


def _sum_text(members: list[_Row], ind: dict) -> str:
    num = sum(m.raw.numerator or 0 for m in members)
    if ind["kind"] == "count":
        return f"合计 {num:g}"
    den = sum(m.raw.denominator or 0 for m in members)
    return f"分子合计 {num:g}、分母合计 {den:g}"


def _compare(raw: RawRow, members: list[_Row], ind: dict, what: str) -> str:
    if not members:
        return f"本文件中没有{what}的数据可供比较"
    same = abs((raw.numerator or 0) - sum(m.raw.numerator or 0 for m in members)) < 1e-9 and (
        ind["kind"] == "count" or
        abs((raw.denominator or 0) - sum(m.raw.denominator or 0 for m in members)) < 1e-9)
    if same:
        return f"与本文件中{len(members)}个{what}的合计一致"
    mine = f"{raw.numerator:g}" if ind["kind"] == "count" else \
        f"分子 {raw.numerator if raw.numerator is not None else 0:g}、分母 {raw.denominator if raw.denominator is not None else 0:g}"
    return f"与本文件中{len(members)}个{what}的合计不一致（本行 {mine}；{_sum_text(members, ind)}），请核对"


def _ignored(r: _Row, rows: list[_Row], rep: Reporting, cat: CatalogView) -> Issue:
    ind = cat.indicators[r.indicator_code]
    name = cat.region_names.get(r.region_code, r.region_code)
    jur = rep.tree.jurisdiction[r.region_code]
    if rep.mode(jur, r.indicator_code) == "self":
        text = (f"“{name}”的“{ind['name']}”已忽略：该指标由{cat.region_names.get(jur, jur)}本级统一报送，"
                f"{name}无需报送")
    else:
        below = set(rep.owing_below(r.region_code, r.indicator_code))
        members = [m for m in rows if m.file_idx == r.file_idx and m.region_code in below
                   and m.indicator_code == r.indicator_code and m.period == r.period and m.period]
        text = (f"“{name}”行的“{ind['name']}”不是报送数据，已忽略：该指标由下级各地区报送，"
                f"{name}的数由其汇总得出；{_compare(r.raw, members, ind, '下级地区')}")
    return Issue("warning", r.raw.sheet, r.raw.region_cell, text)


def _total_warning(raw: RawRow, file_idx: int, rows: list[_Row], cat: CatalogView) -> Issue:
    code = cat.indicator_by_key.get(match_key(raw.indicator))
    period = _key_of(raw.period)
    text = f"“{raw.region}”行不是地区数据，已忽略（上级数据由各地区汇总得出）"
    if code and period:
        members = [m for m in rows if m.file_idx == file_idx and m.indicator_code == code
                   and m.period is not None and m.period.code == period and m.raw.sheet == raw.sheet]
        text += "；" + _compare(raw, members, cat.indicators[code], "地区")
    return Issue("warning", raw.sheet, raw.region_cell, text)


def _map_failures(failed: list[Failure], rows, cat, allowed, prev, results) -> None:
    for check, level, idx in failed:
        if check == "unique":
            _duplicates([rows[i] for i in idx], results)
            continue
        for i in idx:
            r = rows[int(i)]
            key = (r.file_idx, r.region_code, r.indicator_code, r.period.code if r.period else None)
            cell, message = _message(check, r, cat, allowed, prev.get(key, (None, None)))
            if cell in r.raw.bad_cells:
                continue
            issue = Issue(level, r.raw.sheet, cell, message)
            if level == "warning":
                _mark_warning(issue, check, r)
            target = results[r.file_idx]
            (target.errors if level == "error" else target.warnings).append(issue)
            if check == "region" and r.region_code is not None:
                target.scope_violation = True


ANSWERABLE = ("rate_jump", "den_swing", "stock_fall", "outlier_history", "outlier_peers")


def _mark_warning(issue: Issue, kind: str, r: _Row) -> None:
    """A warning about a row: its kind, the row's key, and the row's 备注 as its answer (说明)."""
    issue.kind = kind
    issue.key = (r.region_code, r.indicator_code, r.period.code if r.period else None)
    if kind in ANSWERABLE and r.raw.note and str(r.raw.note).strip():
        issue.answer, issue.answer_source = str(r.raw.note).strip(), "note"


def _outliers(con, rows: list[_Row], cat: CatalogView, results: list[FileValidation],
              extractions: list[Extraction]) -> None:
    """Warnings for values far from the region's own history or its peers (returns/outliers.py),
    on the rows of files without errors so far (a rejected file's numbers are not judged)."""
    from pipelines.returns import outliers
    clean = [r for r in rows if not results[r.file_idx].errors and not extractions[r.file_idx].errors
             and r.raw.numerator_cell not in r.raw.bad_cells]
    for r, kind, message in outliers.warnings(con, clean, cat):
        issue = Issue("warning", r.raw.sheet, r.raw.numerator_cell, message)
        _mark_warning(issue, kind, r)
        results[r.file_idx].warnings.append(issue)


def _duplicates(dups: list[_Row], results) -> None:
    groups: dict[tuple, list[_Row]] = {}
    for r in dups:
        groups.setdefault((r.file_idx, r.region_code, r.indicator_code, r.period.code), []).append(r)
    for group in groups.values():
        where = "、".join(f"{r.raw.sheet}!{r.raw.numerator_cell}（第 {r.raw.row_number} 行）" for r in group)
        for r in group:
            results[r.file_idx].errors.append(Issue(
                "error", r.raw.sheet, r.raw.numerator_cell,
                f"同一地区、统计期、指标（{r.region_code} {r.period.code} {r.indicator_code}）在本文件中重复出现："
                f"{where}，请只保留一行"))

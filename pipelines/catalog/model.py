"""The typed catalog: indicators, regions, plans, targets, baselines and reporting lines as
pydantic models that forbid unknown keys, and the checks that turn a definition — from
targets/*.yaml or from an admin's sheet — into them.

Every problem is an `Issue` (data, not text to be parsed again): the file or the sheet and cell
it is at, the field it is about and one Chinese message. The message is made here, once, so a
mistake reads the same whichever way the definition came in; where it is shown is the reader's
business (`Issue.at` names the sheet and cell). Checks collect every issue of a definition
before anything is refused: each entry is validated on its own, and pydantic reports every
field of an entry at once.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from pipelines.catalog.suggest import did_you_mean
from pipelines.periods import PeriodError, parse_period

UNITS = ("%", "家", "个", "项", "工作日", "次")
KINDS = ("ratio", "count", "mean")
FREQUENCIES = ("月度", "季度", "年度")
AGGREGATIONS = ("flow", "stock")
DIRECTIONS = ("higher", "lower")
COMPARATORS = (">=", "<=")
BASES = ("period", "ytd", "year")
JUDGES = ("hold", "reach")
REPORTERS = ("units", "self", "every_level")
DEFAULT_TIER = "基本目标"

# Target fields whose change makes a new version (the key holds the rest).
TARGET_COMPARE = ("comparator", "value", "basis", "judge", "clause", "text", "deadline",
                  "year_from", "timing", "effective")
BASELINE_COMPARE = ("value", "clause")

# What a target's / baseline's field is called in Chinese: the words of every message about it,
# whether the definition came from YAML or from the admin's sheet (whose column it is).
TARGET_LABELS = {"indicator": "指标编码", "region": "地区编码", "tier": "档次", "comparator": "比较符",
                 "value": "目标值", "year": "年度", "deadline": "截止日期", "from": "起始日期",
                 "effective": "生效日期", "basis": "口径", "judge": "判定", "clause": "条款", "text": "原文"}
BASELINE_LABELS = {"indicator": "指标编码", "region": "地区编码", "period": "统计期", "value": "数值",
                   "clause": "条款"}
_LABELS = {"TargetDef": TARGET_LABELS, "BaselineDef": BASELINE_LABELS}


def _label(info: ValidationInfo, field: str | None = None) -> str:
    """The Chinese name of the field being checked (its YAML key where the model has no label)."""
    name = field or ("from" if info.field_name == "from_" else info.field_name)
    return _LABELS.get((info.config or {}).get("title"), {}).get(name, name)


# --- issues ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Issue:
    """One problem of a definition, located.

    file:    the file it is in (`plans/ningde-2022.yaml`), or None for a sheet
    sheet:   the worksheet (`目标`) and `cell` (`G3`, or `1` for a header row) when read from Excel
    field:   the definition's field it is about (`comparator`, `value` …), None for the whole entry
    message: Chinese, the same whichever way the definition came in
    entry:   which entry of the file (`目标 #3 (evoucher_activation_rate @ 350902)`), for YAML
    item:    (section, index or code) of the entry — what a sheet reader maps to its row
    """
    message: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None
    entry: str | None = None
    item: tuple[str, Any] | None = None

    def at(self, sheet: str, cell: str | None = None) -> "Issue":
        """The same issue, shown at a sheet's cell instead of the file's entry."""
        return dataclasses.replace(self, file=None, sheet=sheet, cell=cell)

    def __str__(self) -> str:
        if self.sheet:
            return f"{self.sheet}!{self.cell}: {self.message}" if self.cell else f"{self.sheet}: {self.message}"
        where = ": ".join(p for p in (self.file, self.entry) if p)
        return f"{where}: {self.message}" if where else self.message


class CatalogIssues(ValueError):
    """Base of the errors that carry every issue found (`issues`) and their text (`problems`)."""

    heading = "发现 %d 个问题："

    def __init__(self, issues: Iterable[Issue | str]):
        self.issues = [i if isinstance(i, Issue) else Issue(str(i)) for i in issues]
        self.problems = [str(i) for i in self.issues]
        super().__init__(self.heading % len(self.problems) + "\n" + "\n".join(self.problems))


def _fail(message: str, field: str | None = None):
    """A Chinese validation error (the message kept whole, the field carried with it)."""
    return PydanticCustomError("catalog", "{message}", {"message": message, "field": field})


def _shown(value) -> str:
    return "" if value is None else str(value)


def _issues(exc: ValidationError, model: type[BaseModel], raw, **where) -> list[Issue]:
    """pydantic's errors of `raw` as Issues with the catalog's Chinese messages."""
    out = []
    allowed = sorted(model.allowed_keys())
    missing = getattr(model, "missing_messages", {})
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        field = loc[0] if loc else None
        kind = err["type"]
        if kind == "catalog":
            message, field = err["ctx"]["message"], err["ctx"].get("field") or field
        elif kind == "extra_forbidden":
            message = (f"未知字段“{field}”{did_you_mean(field, allowed)}"
                       f"（允许的字段：{'、'.join(allowed)}）")
        elif kind == "missing":
            message = missing.get(field, f"缺少 {field}")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = "应为键值对（YAML 映射）"
        elif kind in ("list_type", "tuple_type"):
            message = f"{field} 应为列表"
        elif kind in ("bool_type", "bool_parsing"):
            value = raw.get(field) if isinstance(raw, Mapping) else raw
            message = f"{field} “{_shown(value)}” 应为 true 或 false"
        else:                                      # a type the catalog's own validators did not see
            value = raw.get(field) if isinstance(raw, Mapping) and field else raw
            message = f"{field} “{_shown(value)}” 格式不对"
        out.append(Issue(message, field=field, **where))
    return out


# --- field types: each says what is wrong in the catalog's words ---------------------------------

def _text(value, info: ValidationInfo):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _fail(f"缺少 {info.field_name}")
    return str(value).strip() if isinstance(value, str) else str(value)


def _choice(allowed: tuple[str, ...], say):
    def check(value, info: ValidationInfo):
        if value not in allowed:
            raise _fail(say(info.field_name, value, allowed))
        return value
    return BeforeValidator(check)


def _listed(field, value, allowed):
    return f"{field} “{_shown(value)}” 不在允许的取值 {sorted(allowed)} 中"


def _number(value, info: ValidationInfo):
    if value is None:
        raise _fail(f"缺少{_label(info)}（应为数字）")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{_label(info)}“{_shown(value)}”不是数字")
    return float(value)


def as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _date(value, info: ValidationInfo):
    if value is None:
        return None
    d = as_date(value)
    if d is None:
        hint = "（应写成 2025-12-31 这样的日期）" if info.field_name in ("deadline", "from_") else ""
        raise _fail(f"{_label(info)}“{_shown(value)}”不是日期{hint}")
    return d


def _year(value, info: ValidationInfo):
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _fail(f"{_label(info)}“{_shown(value)}”不是年份") from None


def _names(value, info: ValidationInfo):
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail(f"{info.field_name} 应为列表")
    return tuple(str(v) for v in value)


Text = Annotated[str, BeforeValidator(_text)]
Number = Annotated[float, BeforeValidator(_number)]
OptionalNumber = Annotated[float | None, BeforeValidator(lambda v, i: None if v is None else _number(v, i))]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_date)]
OptionalYear = Annotated[int | None, BeforeValidator(_year)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
OptionalText = Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))]


class Strict(BaseModel):
    """A catalog entry: unknown keys are errors (a plan with `bais: ytd` must not load silently
    as basis `period`), values are checked, the object cannot change once made."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, validate_default=True)
    missing_messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def allowed_keys(cls) -> set[str]:
        return {f.alias or name for name, f in cls.model_fields.items()}

    def row(self) -> dict:
        """The entry as the warehouse stores it."""
        return self.model_dump()


# --- indicators ------------------------------------------------------------------------------

class Indicator(Strict):
    """An indicator (DESIGN "Indicators"): the one type the loader, the bulletin and the demo use."""
    code: Text
    name: Text
    aliases: Names = ()
    unit: Annotated[str, _choice(UNITS, _listed)]
    kind: Annotated[str, _choice(KINDS, _listed)]
    frequency: Annotated[str, _choice(FREQUENCIES, _listed)]
    aggregation: Annotated[str, _choice(AGGREGATIONS, _listed)]
    direction: Annotated[str, _choice(DIRECTIONS, _listed)]
    numerator_label: Text
    denominator_label: OptionalText = None
    share: bool = False
    tolerance: OptionalNumber = None
    source: OptionalText = None

    @model_validator(mode="after")
    def _consistent(self):
        for field, message in self.consistency(self.model_dump()):
            raise _fail(message, field)
        return self

    @staticmethod
    def consistency(raw: Mapping) -> list[tuple[str, str]]:
        """(field, message) of each rule between an indicator's fields that `raw` breaks; also
        asked of an entry whose fields are wrong, so every issue is named at once."""
        kind, unit, den = raw.get("kind"), raw.get("unit"), raw.get("denominator_label")
        out = []
        if kind in ("ratio", "mean") and not den:
            out.append(("denominator_label", f"{kind} 类指标需要 denominator_label（分母名称）"))
        if kind == "count" and den:
            out.append(("denominator_label", "count 类指标不应有分母"))
        if unit == "%" and kind != "ratio":
            out.append(("kind", "单位为 % 的指标必须是 ratio 类"))
        return out

    @property
    def is_share(self) -> bool:
        return self.share

    @property
    def scale(self) -> float:
        return 100.0 if self.unit == "%" else 1.0

    @property
    def tolerance_or_default(self) -> float:
        """pp for %, else a share of the target (DESIGN "接近")."""
        if self.tolerance is not None:
            return float(self.tolerance)
        return 2.0 if self.unit == "%" else 0.05

    @classmethod
    def from_row(cls, row: Mapping) -> "Indicator":
        """An indicator from a warehouse row (`indicators` table or `Metrics.indicators`)."""
        def get(key, default=None):
            v = row.get(key, default)
            return None if v is None or (isinstance(v, float) and v != v) else v
        return cls(code=get("code"), name=get("name"), unit=get("unit"), kind=get("kind"),
                   frequency=get("frequency"), aggregation=get("aggregation"),
                   direction=get("direction"), numerator_label=get("numerator_label"),
                   denominator_label=get("denominator_label"),
                   share=bool(get("is_share", get("share", False))), tolerance=get("tolerance"),
                   source=get("source"))


def check_indicators(entries, file: str) -> tuple[list[Indicator], list[Issue]]:
    """The indicator list of indicators.yaml: every issue of every entry. An entry with issues
    is still listed (unchecked), so that the plans' references to it are checked against it."""
    out, issues, seen, aliases = [], [], set(), {}
    for i, raw in enumerate(entries or []):
        code = raw.get("code") if isinstance(raw, dict) else None
        where = dict(file=file, entry=f"指标 {code or '#%d' % (i + 1)}", item=("指标", i))
        if isinstance(raw, dict) and not code:
            issues.append(Issue("缺少 code", field="code", **where))
            issues += [x for x in _validate(Indicator, raw, **where)[1] if x.field != "code"]
            continue
        ind, problems = _validate(Indicator, raw, **where)
        if ind is None and isinstance(raw, dict):
            told = {p.message for p in problems}
            problems += [Issue(m, field=f, **where) for f, m in Indicator.consistency(raw) if m not in told]
            # known by its code all the same, so that plans naming it are not told it is unknown
            ind = Indicator.model_construct(**{name: raw.get(f.alias or name, f.default)
                                               for name, f in Indicator.model_fields.items()})
        if code in seen:
            problems.append(Issue("指标编码重复", field="code", **where))
        seen.add(code)
        if isinstance(raw, dict):
            for alias in [raw.get("name"), *(raw.get("aliases") or [])]:
                if alias in aliases and aliases[alias] != code:
                    problems.append(Issue(f"名称或别名“{alias}”已用于指标 {aliases[alias]}",
                                          field="aliases", **where))
                aliases[alias] = code
        issues += problems
        if ind is not None:
            out.append(ind)
    if not out:
        issues.append(Issue("没有任何指标", file=file))
    return out, issues


def _validate(model: type[Strict], raw, context=None, **where):
    """(entry or None, issues) — every field's problem at once."""
    if not isinstance(raw, Mapping):
        return None, [Issue("应为键值对（YAML 映射）", **where)]
    try:
        return model.model_validate(dict(raw), context=context), []
    except ValidationError as exc:
        return None, _issues(exc, model, raw, **where)


# --- regions ---------------------------------------------------------------------------------

class RegionNode(Strict):
    """One node of a region tree as written (targets/regions.yaml, or a row of the region sheet)."""
    code: str
    name: str
    level: OptionalText = None
    aliases: Names = ()
    children: list[Any] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data):
        if isinstance(data, dict):
            data = dict(data)
            for key in ("code", "name"):
                value = data.get(key)
                data[key] = "" if value is None else str(value).strip()
        return data

    @model_validator(mode="after")
    def _has_code_and_name(self):
        if not self.code or not self.name:
            raise _fail("需要 code 和 name", "code" if not self.code else "name")
        return self


class Region(Strict):
    """A region of the flattened tree, as the warehouse stores it."""
    code: str
    name: str
    parent_code: str | None
    jurisdiction_code: str
    level: str | None
    depth: int
    sort_order: int
    aliases: tuple[str, ...] = ()

    def row(self) -> dict:
        return {**self.model_dump(), "aliases": list(self.aliases)}


def flatten_regions(roots, file: str) -> tuple[list[Region], list[Issue]]:
    """The region trees under `roots` (nodes as written), flattened in order, every issue found;
    an issue's `item` is ("地区", code) — a sheet maps it to the code's row."""
    out: list[Region] = []
    issues: list[Issue] = []
    seen: set[str] = set()
    names: dict[tuple[str, str], str] = {}

    def walk(raw, parent, jurisdiction, depth):
        code = str(raw.get("code") or "").strip() if isinstance(raw, dict) else ""
        name = str(raw.get("name") or "").strip() if isinstance(raw, dict) else ""
        where = dict(file=file, entry=f"地区 {code or name or '?'}", item=("地区", code or None))
        node, problems = _validate(RegionNode, raw, **where)
        issues.extend(problems)
        if node is None and code and name:     # a typo beside: still in the tree, its children too
            aliases = raw.get("aliases")
            children = raw.get("children")
            node = RegionNode.model_construct(
                code=code, name=name, level=raw.get("level"),
                aliases=tuple(str(a) for a in aliases) if isinstance(aliases, list) else (),
                children=children if isinstance(children, list) else [])
        if node is None:
            return
        if code in seen:
            issues.append(Issue("地区编码重复", field="code", **where))
        seen.add(code)
        jur = jurisdiction or code
        for alias in [name, *node.aliases]:
            key = (jur, str(alias))
            if key in names and names[key] != code:
                issues.append(Issue(f"名称或别名“{alias}”在同一辖区内已用于 {names[key]}",
                                    field="aliases", **where))
            names[key] = code
        out.append(Region(code=code, name=name, parent_code=parent, jurisdiction_code=jur,
                          level=node.level, depth=depth, sort_order=len(out), aliases=node.aliases))
        for child in node.children:
            walk(child, code, jur, depth + 1)

    for root in roots or []:
        walk(root, None, None, 0)
    if not out:
        issues.append(Issue("没有任何地区", file=file))
    return out, issues


# --- plans, targets, baselines, reporting -------------------------------------------------------

class Plan(Strict):
    """A target plan (方案) as written under `plan:`."""
    code: Text
    title: Text
    doc_number: OptionalText = None
    issued: OptionalDate = None
    jurisdiction: Text
    years: tuple[int, int]
    seed: OptionalText = None
    missing_messages: ClassVar[dict[str, str]] = {
        k: f"plan 缺少 {k}" for k in ("code", "title", "jurisdiction", "years")}

    @field_validator("code", "title", "jurisdiction", mode="before")
    @classmethod
    def _given(cls, value, info: ValidationInfo):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _fail(f"plan 缺少 {info.field_name}")
        return value

    @field_validator("years", mode="before")
    @classmethod
    def _span(cls, value):
        if not value:
            raise _fail("plan 缺少 years")
        if not (isinstance(value, list | tuple) and len(value) == 2
                and all(isinstance(y, int) and not isinstance(y, bool) for y in value)):
            raise _fail("years 应为 [起始年, 结束年]")
        return tuple(value)

    @field_validator("jurisdiction")
    @classmethod
    def _known(cls, value, info: ValidationInfo):
        regions = (info.context or {}).get("regions")
        if regions is not None and value not in regions:
            raise _fail(f"辖区 {value} 不在 regions.yaml 中")
        return value

    def row(self) -> dict:
        return {"code": self.code, "title": self.title, "doc_number": self.doc_number,
                "issued": self.issued, "jurisdiction_code": self.jurisdiction,
                "year_from": self.years[0], "year_to": self.years[1], "source_file": self.seed}


class PlanFile(Strict):
    """A plan document: its keys (entries are checked one by one)."""
    plan: Any = None
    targets: list[Any] = Field(default_factory=list)
    baselines: list[Any] = Field(default_factory=list)
    reporting: Any = None

    @field_validator("targets", "baselines", mode="before")
    @classmethod
    def _list(cls, value, info: ValidationInfo):
        if value is None:
            return []
        if not isinstance(value, list):
            raise _fail(f"{info.field_name} 应为列表")
        return value


def default_judge(kind: str | None, timing: str) -> str:
    """DESIGN "How a target judges a figure": counts with a deadline are a level to reach by it;
    rates and means (and standing counts) must hold in every period."""
    return "reach" if kind == "count" and timing in ("year", "deadline") else "hold"


def _ctx(info: ValidationInfo) -> dict:
    return info.context or {}


class TargetDef(Strict):
    """One target as written (a `targets:` entry, or a row of the 目标 sheet). Checked against
    the catalog in the validation context: `indicators` and `regions` (code → model) and `plan`."""
    indicator: str | None = None
    region: OptionalText = None
    comparator: Any = None
    value: Any = None
    year: OptionalYear = None
    deadline: OptionalDate = None
    from_: OptionalDate = Field(default=None, alias="from")
    tier: OptionalText = None
    effective: OptionalDate = None
    basis: Any = "period"
    judge: Any = None
    clause: OptionalText = None
    text: OptionalText = None

    @field_validator("indicator", mode="before")
    @classmethod
    def _indicator(cls, value, info: ValidationInfo):
        if value not in _ctx(info).get("indicators", {}):
            raise _fail(f"未知指标 {value}")
        return value

    @field_validator("region", mode="after")
    @classmethod
    def _region(cls, value, info: ValidationInfo):
        regions, plan = _ctx(info).get("regions", {}), _ctx(info).get("plan")
        if value not in regions:
            raise _fail(f"未知地区 {_shown(value)}")
        if plan is not None and plan.jurisdiction in regions and \
                regions[value].jurisdiction_code != regions[plan.jurisdiction].jurisdiction_code:
            raise _fail(f"地区 {value} 不属于本方案辖区 {plan.jurisdiction}")
        return value

    @field_validator("comparator", mode="before")
    @classmethod
    def _comparator(cls, value, info: ValidationInfo):
        if value not in COMPARATORS:
            raise _fail(f"比较符应为 >= 或 <=（现为“{'空' if value is None else value}”）")
        ind = _ctx(info).get("indicators", {}).get(info.data.get("indicator"))
        if ind is not None and ind.direction == "lower" and value == ">=":
            raise _fail("指标越低越好，目标比较符应为 <=")
        if ind is not None and ind.direction == "higher" and value == "<=":
            raise _fail("指标越高越好，目标比较符应为 >=")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value, info: ValidationInfo):
        value = _number(value, info)
        ind = _ctx(info).get("indicators", {}).get(info.data.get("indicator"))
        if ind is not None and ind.unit == "%" and not 0 <= value <= 100:
            raise _fail(f"百分比目标 {value:g} 不在 0–100 之间")
        return value

    @field_validator("basis", mode="before")
    @classmethod
    def _basis(cls, value):
        if value not in BASES:
            raise _fail(f"口径“{_shown(value)}”应为 period（当期）、ytd（累计）或 year（全年）")
        return value

    @field_validator("judge", mode="before")
    @classmethod
    def _judge(cls, value):
        if value is not None and value not in JUDGES:
            raise _fail(f"判定“{_shown(value)}”应为 hold（每期保持）或 reach（到期达到）")
        return value

    @staticmethod
    def timing_problem(raw: Mapping) -> str | None:
        """Unless exactly one of year / deadline / from is given; also asked of an entry whose
        fields are wrong, so every issue is named at once."""
        given = [k for k in ("year", "deadline", "from") if raw.get(k) is not None]
        if len(given) == 1:
            return None
        said = "都没有填" if not given else "填了" + "、".join(TARGET_LABELS[k] for k in given)
        return f"年度、截止日期、起始日期必须且只能填一项（现在{said}）"

    @model_validator(mode="after")
    def _timing(self, info: ValidationInfo):
        problem = self.timing_problem({"year": self.year, "deadline": self.deadline, "from": self.from_})
        if problem:
            raise _fail(problem, "year")
        given = [self.timing]
        plan = _ctx(info).get("plan")
        if plan is not None and plan.years and not plan.years[0] <= self.year_from <= plan.years[1]:
            raise _fail(f"期限 {self.year_from} 年不在方案年限 {plan.years[0]}–{plan.years[1]} 内",
                        given[0])
        return self

    @property
    def timing(self) -> str:
        return "year" if self.year is not None else "deadline" if self.deadline is not None else "from"

    @property
    def year_from(self) -> int:
        return self.year if self.year is not None else (self.deadline or self.from_).year


class Target(Strict):
    """A target in force as the warehouse stores it (the `targets` table's columns)."""
    target_key: str
    plan_code: str
    indicator_code: str
    region_code: str
    tier: str
    comparator: str
    value: float
    timing: Literal["year", "deadline", "from"]
    year_from: int
    deadline: dt.date | None
    effective: dt.date
    basis: str
    judge: str
    clause: str | None = None
    text: str | None = None

    @classmethod
    def of(cls, t: TargetDef, plan: Plan, indicator: Indicator) -> "Target":
        timing, year_from = t.timing, t.year_from
        deadline = dt.date(year_from, 12, 31) if timing == "year" else t.deadline
        effective = t.effective or (t.from_ if timing == "from" else dt.date(year_from, 1, 1))
        tier = t.tier or DEFAULT_TIER
        timing_text = {"year": str(year_from), "deadline": str(deadline), "from": f"from {effective}"}[timing]
        key = "|".join([plan.code, t.indicator, t.region, tier, timing_text, str(effective)])
        return cls(target_key=key, plan_code=plan.code, indicator_code=t.indicator,
                   region_code=t.region, tier=tier, comparator=t.comparator, value=t.value,
                   timing=timing, year_from=year_from, deadline=deadline, effective=effective,
                   basis=t.basis, judge=t.judge or default_judge(indicator.kind, timing),
                   clause=t.clause, text=t.text)


class BaselineDef(Strict):
    """A baseline (基期值) as written."""
    indicator: str | None = None
    region: OptionalText = None
    period: Any = None
    value: Any = None
    clause: OptionalText = None

    @field_validator("indicator", mode="before")
    @classmethod
    def _indicator(cls, value, info: ValidationInfo):
        if value not in _ctx(info).get("indicators", {}):
            raise _fail(f"未知指标 {value}")
        return value

    @field_validator("region", mode="after")
    @classmethod
    def _region(cls, value, info: ValidationInfo):
        if value not in _ctx(info).get("regions", {}):
            raise _fail(f"未知地区 {_shown(value)}")
        return value

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value):
        try:
            return parse_period(str(value)).code
        except PeriodError as exc:
            raise _fail(str(exc)) from None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value, info: ValidationInfo):
        return _number(value, info)


class Baseline(Strict):
    baseline_key: str
    plan_code: str
    indicator_code: str
    region_code: str
    period: str
    value: float
    clause: str | None = None


class ReportingDef(Strict):
    """Who reports an indicator in a plan's jurisdiction (DESIGN "Who reports what")."""
    indicator: str | None = None
    by: Any = None
    reason: Any = None
    missing_messages: ClassVar[dict[str, str]] = {}

    @field_validator("indicator", mode="before")
    @classmethod
    def _indicator(cls, value, info: ValidationInfo):
        if value not in _ctx(info).get("indicators", {}):
            raise _fail(f"未知指标 {value}")
        return value

    @field_validator("by", mode="before")
    @classmethod
    def _by(cls, value):
        if value not in REPORTERS:
            raise _fail(f"by “{_shown(value)}” 应为 units（下级单位报送）、self（本级报送）或 every_level（各级各报）")
        return value

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value):
        if not str(value or "").strip():
            raise _fail("缺少 reason（按方案原文说明为什么由这一级报送）")
        return str(value).strip()

    @model_validator(mode="before")
    @classmethod
    def _reason_given(cls, data):
        if isinstance(data, dict) and "reason" not in data:
            data = {**data, "reason": None}     # absent reads as empty: the same message
        return data


class ReportingLine(Strict):
    jurisdiction_code: str
    indicator_code: str
    reported_by: str
    reason: str


@dataclasses.dataclass
class PlanCheck:
    """A plan document checked: what is valid of it, and every issue."""
    plan: Plan | None = None
    targets: list[Target] = dataclasses.field(default_factory=list)
    baselines: list[Baseline] = dataclasses.field(default_factory=list)
    reporting: list[ReportingLine] = dataclasses.field(default_factory=list)
    issues: list[Issue] = dataclasses.field(default_factory=list)


def check_plan(doc, file: str, indicators: Mapping[str, Indicator],
               regions: Mapping[str, Region]) -> PlanCheck:
    """A plan document (a plans/*.yaml, or the plan sheet read into the same shape) against the
    catalog's indicators and regions (code → model). Entries are numbered from 1 in their list;
    `Issue.item` is ("目标" | "基期值" | "报送分工", index from 0)."""
    out = PlanCheck()
    _, file_issues = _validate(PlanFile, doc, file=file)
    out.issues += file_issues
    doc = doc if isinstance(doc, Mapping) else {}
    raw_plan = doc.get("plan") or {}
    code = raw_plan.get("code") if isinstance(raw_plan, Mapping) else None
    where = f"方案 {code or '?'}"
    plan, problems = _validate(Plan, raw_plan, context={"regions": regions}, file=file, entry=where)
    for issue in problems:        # the plan's own keys are named under "plan"
        out.issues.append(dataclasses.replace(issue, entry=f"{where}: plan")
                          if issue.message.startswith("未知字段") else issue)
    if plan is None and code:     # its entries are still checked against what is usable of it
        plan = _usable_plan(raw_plan, regions)
    if plan is None:
        return out
    out.plan = plan
    context = {"indicators": indicators, "regions": regions, "plan": plan}

    keys: set[str] = set()
    for i, raw in enumerate(doc.get("targets") or [] if isinstance(doc.get("targets"), list) else []):
        ind = raw.get("indicator") if isinstance(raw, Mapping) else None
        reg = _shown(raw.get("region")) if isinstance(raw, Mapping) else ""
        at = dict(file=file, entry=f"目标 #{i + 1} ({ind} @ {reg})", item=("目标", i))
        t, problems = _validate(TargetDef, raw, context, **at)
        timing = TargetDef.timing_problem(raw) if t is None and isinstance(raw, Mapping) else None
        if timing and all(p.message != timing for p in problems):     # not said by the model already
            problems.append(Issue(timing, field="year", **at))
        out.issues += problems
        if t is None:
            continue
        target = Target.of(t, plan, indicators[t.indicator])
        if target.target_key in keys:
            out.issues.append(Issue("与前面的目标重复（同指标、地区、档次、期限、生效日期）",
                                    field="indicator", **at))
            continue
        keys.add(target.target_key)
        out.targets.append(target)

    for i, raw in enumerate(doc.get("baselines") or [] if isinstance(doc.get("baselines"), list) else []):
        ind = raw.get("indicator") if isinstance(raw, Mapping) else None
        reg = _shown(raw.get("region")) if isinstance(raw, Mapping) else ""
        at = dict(file=file, entry=f"基期值 #{i + 1} ({ind} @ {reg})", item=("基期值", i))
        b, problems = _validate(BaselineDef, raw, context, **at)
        out.issues += problems
        if b is not None:
            out.baselines.append(Baseline(
                baseline_key=f"{plan.code}|{b.indicator}|{b.region}|{b.period}", plan_code=plan.code,
                indicator_code=b.indicator, region_code=b.region, period=b.period, value=b.value,
                clause=b.clause))

    out.reporting, problems = check_reporting(doc.get("reporting") or [], file, plan, indicators,
                                              out.targets)
    out.issues += problems
    return out


def _usable_plan(raw: Mapping, regions: Mapping[str, Region]) -> Plan:
    """A plan whose facts have issues (already reported), as far as its targets can be checked:
    its code, its jurisdiction if known, its years if well formed (else no range check)."""
    years = raw.get("years")
    ok = isinstance(years, list | tuple) and len(years) == 2 and all(
        isinstance(y, int) and not isinstance(y, bool) for y in years)
    jur = str(raw.get("jurisdiction") or "")
    return Plan.model_construct(code=str(raw["code"]), title=str(raw.get("title") or ""),
                                doc_number=None, issued=as_date(raw.get("issued")),
                                jurisdiction=jur if jur in regions else "", seed=None,
                                years=tuple(years) if ok else None)


def check_reporting(entries, file: str, plan: Plan, indicators: Mapping[str, Indicator],
                    targets: list[Target]) -> tuple[list[ReportingLine], list[Issue]]:
    """Who reports what: `by` units (default) | self | every_level, each with its `reason`.

    `self`: the jurisdiction's own bureau reports the one figure (no unit owes it, so a target
    on a unit contradicts it); `every_level`: every region reports its own figure, never a
    roll-up."""
    if not isinstance(entries, list):
        return [], [Issue("reporting 应为列表", file=file)]
    out, issues, seen = [], [], set()
    jur = plan.jurisdiction
    for i, raw in enumerate(entries):
        ind = raw.get("indicator") if isinstance(raw, Mapping) else "?"
        at = dict(file=file, entry=f"报送分工 #{i + 1} ({ind})", item=("报送分工", i))
        line, problems = _validate(ReportingDef, raw, {"indicators": indicators}, **at)
        if ind in seen:
            problems.append(Issue("同一指标的报送分工重复", field="indicator", **at))
            line = None
        seen.add(ind)
        if line is not None and line.by == "self":
            below = sorted(t.region_code for t in targets
                           if t.indicator_code == line.indicator and t.region_code != jur)
            if below:
                problems.append(Issue(f"该指标由本级（{jur}）报送，但下级地区 {'、'.join(below)} 也设有目标",
                                      field="by", **at))
                line = None
        issues += problems
        if line is not None:
            out.append(ReportingLine(jurisdiction_code=jur, indicator_code=line.indicator,
                                     reported_by=line.by, reason=line.reason))
    return out, issues


# --- settings ----------------------------------------------------------------------------------

def _whole(low: int, high: int, what: str):
    def check(value, info: ValidationInfo):
        try:
            n = int(str(value).strip())
        except ValueError:
            n = None
        if n is None or not low <= n <= high:
            raise _fail(f"{info.field_name.replace('_', '.', 1)} “{value}” 应为 {low}–{high} 的整数（{what}）")
        return n
    return BeforeValidator(check)


class Settings(Strict):
    """The warehouse settings that decide figures and reminders (`settings` table), typed; the
    `settings` command checks a change through it before writing. Keys as stored: `due_day.月度`,
    `rollup.min_share`, `reminder.days_before` …"""
    due_day: dict[str, int] = Field(default_factory=dict)
    rollup_min_share: float = 1.0
    reminder_days_before: Annotated[int, _whole(0, 60, "截止日前几天提醒")] = 3
    reminder_days_after: Annotated[int, _whole(0, 60, "逾期后几天催报")] = 3
    reminder_catch_up_days: Annotated[int, _whole(0, 366, "错过的提醒还补发几天")] = 30

    @field_validator("due_day", mode="before")
    @classmethod
    def _days(cls, value):
        out = {}
        for freq, day in (value or {}).items():
            if freq not in FREQUENCIES:
                raise _fail(f"due_day.{freq}: 未知报送频率{did_you_mean(freq, FREQUENCIES)}"
                            f"（应为 {'、'.join(FREQUENCIES)}）", "due_day")
            try:
                out[freq] = int(str(day).strip())
            except ValueError:
                out[freq] = 0
            if not 1 <= out[freq] <= 31:
                raise _fail(f"due_day.{freq} “{day}” 应为 1–31 的整数（次月几日前报送）", "due_day")
        return out

    @field_validator("rollup_min_share", mode="before")
    @classmethod
    def _share(cls, value):
        try:
            share = float(str(value).strip())
        except ValueError:
            share = -1.0
        if not 0 < share <= 1:
            raise _fail(f"rollup.min_share “{value}” 应为大于 0、不超过 1 的小数（1 = 全部下级齐全）",
                        "rollup_min_share")
        return share

    @classmethod
    def from_rows(cls, rows: Mapping[str, str]) -> "Settings":
        """From the `settings` table's key → value rows (other keys are not this model's);
        SettingsIssues lists every bad value at once."""
        raw: dict[str, Any] = {"due_day": {k.split(".", 1)[1]: v for k, v in rows.items()
                                           if k.startswith("due_day.")}}
        for key in ("rollup.min_share", "reminder.days_before", "reminder.days_after",
                    "reminder.catch_up_days"):
            if rows.get(key) not in (None, ""):
                raw[key.replace(".", "_")] = rows[key]
        settings, issues = _validate(cls, raw, file="settings")
        if issues:
            raise SettingsIssues(issues)
        return settings


class SettingsIssues(CatalogIssues):
    heading = "settings 表中发现 %d 个问题："

"""One resolver for the ways a region or an indicator is written: code, name or alias.

Every part that turns text into a code asks this module — the metrics (a `--region` of the
CLI, an API parameter, a page's URL), accounts (a user's region), the checks of a return
(the 地区 and 指标 cells), the template. Text is compared by `match_key` (NFKC, no spaces or
quotes, lower case), in three passes: codes, then names, then aliases; the first pass that
matches decides. Two different codes in that pass is an ambiguity, which is an error listing
the candidates — never the first or the last match taken silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.returns.cells import match_key


class ResolveError(ValueError):
    """Unknown or ambiguous text (Chinese message: what was written and how to write it)."""

    def __init__(self, message: str, candidates: list[str] | None = None):
        super().__init__(message)
        self.candidates = candidates or []


@dataclass
class Names:
    """Match key → codes for each pass (code, name, alias), and each code's name."""
    kind: str                                    # 地区 | 指标
    hint: str                                    # how to write it, for the messages
    passes: tuple[dict[str, list[str]], ...] = field(default_factory=lambda: ({}, {}, {}))
    name: dict[str, str] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)

    def add(self, pass_no: int, text, code: str) -> None:
        key = match_key(text)
        if key:
            codes = self.passes[pass_no].setdefault(key, [])
            if code not in codes:
                codes.append(code)

    def candidates(self, text, *, active_only: bool = False) -> list[str]:
        """The codes the text may mean (catalog order), from the first pass that knows it."""
        key = match_key(text if text is not None else "")
        for table in self.passes:
            codes = [c for c in table.get(key, []) if not active_only or c in self.active]
            if codes:
                return codes
        return []

    def resolve(self, text, *, active_only: bool = False) -> str:
        """The one code the text means; ResolveError when it means none or several."""
        shown = str(text if text is not None else "").strip()
        if not shown:
            raise ResolveError(f"未指定{self.kind}：请填写{self.hint}")
        codes = self.candidates(text, active_only=active_only)
        if not codes:
            raise ResolveError(f"未知{self.kind}“{shown}”：请使用{self.hint}")
        if len(codes) > 1:
            options = "、".join(f"{self.name.get(c, c)}（{c}）" for c in codes)
            raise ResolveError(f"{self.kind}“{shown}”不唯一：可能是 {options}，请改用{self.kind}编码", codes)
        return codes[0]

    def get(self, text, *, active_only: bool = False) -> str | None:
        """The one code the text means, or None (unknown or ambiguous: see `problem`)."""
        codes = self.candidates(text, active_only=active_only)
        return codes[0] if len(codes) == 1 else None

    def ambiguous(self, text, *, active_only: bool = False) -> bool:
        return len(self.candidates(text, active_only=active_only)) > 1

    def problem(self, text, *, active_only: bool = False) -> str | None:
        """Why `get` found no code (the message `resolve` raises), None when it found one."""
        try:
            self.resolve(text, active_only=active_only)
        except ResolveError as exc:
            return str(exc)
        return None

    def unique_keys(self, *, active_only: bool = False) -> dict[str, str]:
        """Match key → code for every key that means exactly one code (what the parse
        workers get to check a template's visible region against its hidden code)."""
        out: dict[str, str] = {}
        for table in reversed(self.passes):          # earlier passes win
            for key, codes in table.items():
                codes = [c for c in codes if not active_only or c in self.active]
                if len(codes) == 1:
                    out[key] = codes[0]
                elif codes:
                    out.pop(key, None)
        return out


REGION_HINT = " targets/regions.yaml 中的地区编码、名称或简称"
INDICATOR_HINT = "模板中的指标名称或指标编码"


def _filled(names: Names, entries, aliases) -> Names:
    """`names` with (code, name, active) entries and (alias, code) pairs, in catalog order."""
    for code, name, active in entries:
        names.name[code] = name
        if active:
            names.active.add(code)
        names.add(0, code, code)
        names.add(1, name, code)
    for alias, code in aliases:
        names.add(2, alias, code)
    return names


def region_names(con) -> Names:
    """Every region (active or not: `active_only` decides per question) and its aliases."""
    return _filled(Names("地区", REGION_HINT),
                   con.execute("SELECT code, name, active FROM regions ORDER BY sort_order, code").fetchall(),
                   con.execute("SELECT alias, region_code FROM region_aliases a JOIN regions r "
                               "ON r.code = a.region_code ORDER BY r.sort_order, a.alias").fetchall())


def indicator_names(con) -> Names:
    return _filled(Names("指标", INDICATOR_HINT),
                   con.execute("SELECT code, name, TRUE FROM indicators ORDER BY sort_order, code").fetchall(),
                   con.execute("SELECT alias, indicator_code FROM indicator_aliases a JOIN indicators i "
                               "ON i.code = a.indicator_code ORDER BY i.sort_order, a.alias").fetchall())


def resolve_region(con, text, *, active_only: bool = False) -> str:
    """A region code, name or alias → its code (ResolveError, in Chinese, if unknown or ambiguous)."""
    return region_names(con).resolve(text, active_only=active_only)

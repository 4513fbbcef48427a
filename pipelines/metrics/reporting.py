"""Who reports what (DESIGN "Who reports what"), resolved on the region tree.

Per jurisdiction and indicator, `reporting.reported_by` (targets/plans/*.yaml `reporting`):
- `units` (the default): the jurisdiction's units report — its leaf regions (the districts or
  镇街 of a two-level tree; the counties of a deeper one). Every region above them shows the
  roll-up of the units below it; a figure sent for a region above them is not data.
- `self`: the jurisdiction's own bureau reports the one figure; no unit owes it, and units
  show nothing for it.
- `every_level`: every region reports its own figure, which is never a roll-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field

UNITS, SELF, EVERY_LEVEL = "units", "self", "every_level"


@dataclass
class Tree:
    """The active region forest, read once: names, parents, children, jurisdictions."""
    name: dict[str, str]
    parent: dict[str, str | None]
    jurisdiction: dict[str, str]
    sort_order: dict[str, int]
    level: dict[str, str | None]
    children: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, con) -> "Tree":
        rows = con.execute("SELECT code, name, parent_code, jurisdiction_code, sort_order, level "
                           "FROM regions WHERE active ORDER BY sort_order").fetchall()
        tree = cls({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows},
                   {r[0]: r[3] for r in rows}, {r[0]: r[4] for r in rows},
                   {r[0]: r[5] for r in rows})
        for code, _, parent, *_ in rows:
            if parent is not None and parent in tree.name:
                tree.children.setdefault(parent, []).append(code)
        return tree

    def roots(self) -> list[str]:
        return [c for c, p in self.parent.items() if p is None]

    def is_leaf(self, code: str) -> bool:
        return not self.children.get(code)

    def descendants(self, code: str) -> list[str]:
        out, todo = [], list(self.children.get(code, []))
        while todo:
            c = todo.pop()
            out.append(c)
            todo.extend(self.children.get(c, []))
        return out

    def ancestors(self, code: str) -> list[str]:
        """code itself, then its parent, … up to its root."""
        out, c = [], code
        while c is not None and c in self.name:
            out.append(c)
            c = self.parent.get(c)
        return out


@dataclass
class Reporting:
    """Who owes each indicator: the tree plus the jurisdictions' `reported_by` lines."""
    tree: Tree
    modes: dict[tuple[str, str], str]        # (jurisdiction, indicator) -> units|self|every_level

    @classmethod
    def read(cls, con, tree: Tree | None = None) -> "Reporting":
        modes = {(j, i): by for j, i, by in con.execute(
            "SELECT jurisdiction_code, indicator_code, reported_by FROM reporting").fetchall()}
        return cls(tree or Tree.read(con), modes)

    def mode(self, jurisdiction: str, indicator: str) -> str:
        return self.modes.get((jurisdiction, indicator), UNITS)

    def owes(self, code: str, indicator: str) -> bool:
        """Does region `code` report the indicator itself?"""
        jur = self.tree.jurisdiction.get(code)
        if jur is None:
            return False
        mode = self.mode(jur, indicator)
        if mode == SELF:
            return code == jur
        if mode == EVERY_LEVEL:
            return True
        return self.tree.is_leaf(code)

    def owing_below(self, code: str, indicator: str) -> list[str]:
        """The regions below `code` whose own figures make up its roll-up."""
        if self.owes(code, indicator):
            return []
        return [d for d in self.tree.descendants(code) if self.owes(d, indicator)]

    def row_kind(self, code: str, indicator: str) -> str | None:
        """'own' (reports it), 'rollup' (sums the units below) or None (shows nothing)."""
        if self.owes(code, indicator):
            return "own"
        return "rollup" if self.owing_below(code, indicator) else None

    def owed_in(self, jurisdiction: str, indicator: str) -> list[str]:
        """Every region of the jurisdiction that reports the indicator itself."""
        return [c for c in [jurisdiction, *self.tree.descendants(jurisdiction)]
                if self.owes(c, indicator)]

    def reporter_term(self, code: str, indicator: str) -> str:
        """Chinese words for who reports a region's figure (for messages)."""
        jur = self.tree.jurisdiction.get(code, code)
        mode = self.mode(jur, indicator)
        if mode == SELF:
            return f"{self.tree.name.get(jur, jur)}本级"
        if mode == EVERY_LEVEL:
            return "各级各自"
        return "下级各单位"

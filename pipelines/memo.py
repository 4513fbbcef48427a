"""Memo of metrics answers (and of pages built from them) for one warehouse, valid until the warehouse next changes.

A server process owns its DuckDB file (one writer), so every change to the data goes through
that process; its write path calls `ResultCache.changed()` once the change is committed. An
answer is stored under the data version that was current when its computation *started*, and
looked up under the current one, so an answer computed across a change is never served after
it. Answers are copied on the way in and out: callers may modify what they get.

Not module state: each `Warehouse` (dashboards/store.py) holds its own cache.
"""
from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict


def _frozen(value):
    """A hashable stand-in for an argument (lists of indicators, Periods, datetimes...)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return tuple(_frozen(v) for v in items)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    code = getattr(value, "code", None)          # Period
    if isinstance(code, str):
        return ("period", code)
    return value


def _copy(value):
    # Duck-typed (no pandas import here: the server imports this module before it answers).
    if type(value).__name__ == "DataFrame" and hasattr(value, "copy"):
        return value.copy()
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    return value


class ResultCache:
    """Thread-safe LRU of metrics answers keyed on (data version, as_of, method, arguments)."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()
        self._version = 0
        self.hits = 0
        self.misses = 0

    @property
    def version(self) -> int:
        return self._version

    def changed(self) -> None:
        """The warehouse changed (called after the write committed): forget every answer."""
        with self._lock:
            self._version += 1
            self._entries.clear()

    def get_or_compute(self, key, compute):
        with self._lock:
            version = self._version
            full = (version, key)
            if full in self._entries:
                self._entries.move_to_end(full)
                self.hits += 1
                return _copy(self._entries[full])
            self.misses += 1
        value = compute()
        with self._lock:
            if version == self._version:
                self._entries[full] = _copy(value)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value


def memoised(method):
    """Decorate a `Metrics` method: answered from `self.cache` when the Metrics has one."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        cache = getattr(self, "cache", None)
        if cache is None:
            return method(self, *args, **kwargs)
        key = (method.__name__, self.as_of, getattr(self, "stored", True),
               getattr(self, "reviewed_only", False), _frozen(args), _frozen(kwargs))
        try:
            hash(key)
        except TypeError:
            return method(self, *args, **kwargs)
        return cache.get_or_compute(key, lambda: method(self, *args, **kwargs))
    return wrapper

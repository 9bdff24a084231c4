"""The results of :func:`journeyflow.analytics.quality.validate_output`: one :class:`CheckResult` per check and the
:class:`QualityReport` of a run, with its text (``journeyflow validate``) and JSON (``--json``) forms."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from journeyflow.analytics.tables import TABLES


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one table: a GX expectation or a ``pandas:<name>`` cross-table check, with counts,
    a few unexpected values (``examples``) and the key column of their rows (``keys``); ``error`` when it did not run."""

    table: str
    check: str  # short name, e.g. "decision_id_unique", "no_raw_email:payload"
    expectation: str  # GX expectation type (e.g. "expect_column_values_to_be_unique") or "pandas:<check>"
    column: str | None
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    examples: tuple = ()  # some unexpected values
    keys: tuple = ()  # the KEY_COLUMN value of the rows holding them, when known
    error: str | None = None

    def describe(self) -> str:
        """One line: expectation(column), counts, observed value, examples and rows (values shortened to 60 chars)."""
        what = f"{self.expectation}({self.column})" if self.column else self.expectation
        if self.error:
            return f"{what}: error: {self.error}"
        parts = [what]
        if self.unexpected_count is not None and self.element_count is not None:
            parts.append(f"{self.unexpected_count} of {self.element_count} unexpected")
        if self.observed_value is not None:
            parts.append(f"observed {_short(self.observed_value)}")
        if self.examples:
            parts.append("e.g. " + ", ".join(_short(v) for v in self.examples))
        if self.keys and not self.success:
            parts.append("rows " + ", ".join(_short(v) for v in self.keys))
        return "; ".join(parts)


@dataclass
class QualityReport:
    """All checks of one validation of ``out_dir``: the input range used (epoch ms) and where it came from, row counts,
    missing table directories, the results and the time taken (s)."""

    out_dir: str
    input_range: tuple[int, int]
    range_source: str
    row_counts: dict[str, int]
    missing_tables: list[str]
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no table directory is missing and every check passed."""
        return not self.missing_tables and all(r.success for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if not r.success]

    def for_table(self, table: str) -> list[CheckResult]:
        """The checks of ``table``."""
        return [r for r in self.results if r.table == table]

    def failed_checks(self) -> set[tuple[str, str]]:
        """``{(table, check)}`` of every failed check."""
        return {(r.table, r.check) for r in self.failures}

    def render(self, verbose: bool = True) -> str:
        """Readable text: a verdict, the input range, then per table one line per check (failures first); not
        ``verbose``: only the failed checks, each named ``table.check``, under the tables that have one."""
        n_fail = len(self.failures) + len(self.missing_tables)
        verdict = "OK" if self.ok else f"FAILED ({n_fail} of {len(self.results) + len(self.missing_tables)} checks)"
        lo, hi = (_iso(t) for t in self.input_range)
        lines = [f"data quality of {self.out_dir}: {verdict}",
                 f"input range {lo} .. {hi} ({self.range_source}); {len(self.results)} checks in "
                 f"{self.seconds:.1f} s"]
        for t in self.missing_tables:
            lines.append(f"FAIL table {t}: directory tables/{t} is missing")
        tables = list(dict.fromkeys([*TABLES, *(r.table for r in self.results)]))
        for t in tables:
            rs = self.for_table(t)
            if not rs:
                continue
            bad = [r for r in rs if not r.success]
            if not bad and not verbose:  # (failures only: a table whose checks all passed is left out)
                continue
            rows = f"{self.row_counts[t]} rows, " if t in self.row_counts else ""
            lines.append("")
            lines.append(f"{t} ({rows}{len(rs) - len(bad)}/{len(rs)} checks passed)")
            width = max(len(r.check if verbose else f"{t}.{r.check}") for r in rs)
            for r in bad + [r for r in rs if r.success]:
                if r.success and not verbose:
                    continue
                # (failures only: each line names its table, as a check of that name may fail in two tables)
                check = r.check if verbose else f"{t}.{r.check}"
                lines.append(f"  {'ok  ' if r.success else 'FAIL'}  {check:<{width}}  {r.describe()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready dicts (``journeyflow validate --json``), with ``ok``."""
        d = asdict(self)
        d["ok"] = self.ok
        d["results"] = [{**asdict(r), "examples": [_jsonable(v) for v in r.examples],
                         "keys": [_jsonable(v) for v in r.keys],
                         "observed_value": _jsonable(r.observed_value)} for r in self.results]
        return d


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


def _short(v: Any, n: int = 60) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _iso(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(ms)

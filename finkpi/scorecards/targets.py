"""Targets and scorecard weights: governed seeds in `seeds/targets/`, read with their file and line
so that every problem names the rows to fix.

- `scorecard_targets.csv`: metric x org unit x grain x period_start -> floor, target, stretch, with a
  version, who approved it and when. The target in force for a period is the highest version
  approved on or before the period's last day, so a revision approved later never re-scores a
  period that had already ended.
- `scorecard_weights.csv`: scorecard x org unit x metric -> weight (percent), valid from
  `effective_from` (inclusive) to `effective_to` (exclusive; 9999-12-31 = open). A period is scored
  with the weights in force on its last day.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from finkpi.settings import PROJECT_DIR

TARGETS_FILE = "scorecard_targets.csv"
WEIGHTS_FILE = "scorecard_weights.csv"
TARGET_COLUMNS = [
    "metric_name", "org_unit", "grain", "period_start", "floor", "target", "stretch", "version",
    "approved_by", "approved_at", "fiscal_year_start_month",
]  # fmt: skip
WEIGHT_COLUMNS = ["scorecard", "org_unit", "metric_name", "weight_pct", "effective_from", "effective_to"]
GRAINS = ("month", "quarter", "year")
OPEN_END = date(9999, 12, 31)


class TargetsError(ValueError):
    """The targets or weights seeds are not usable; `problems` names each offending row."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the scorecard seeds:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Target:
    metric_name: str
    org_unit: str
    grain: str
    period_start: date
    floor: float
    target: float
    stretch: float
    version: int
    approved_by: str
    approved_at: date
    where: str  # file:line
    fiscal_year_start_month: int = 1  # the fiscal calendar the periods belong to


@dataclass(frozen=True)
class Weight:
    scorecard: str
    org_unit: str
    metric_name: str
    weight_pct: float
    effective_from: date
    effective_to: date
    where: str

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day < self.effective_to


@dataclass
class Seeds:
    targets: list[Target]
    weights: list[Weight]

    def for_calendar(self, fiscal_year_start_month: int) -> Seeds:
        """Only the targets set for this fiscal calendar (periods of another calendar do not exist here)."""
        return Seeds(
            targets=[t for t in self.targets if t.fiscal_year_start_month == fiscal_year_start_month],
            weights=self.weights,
        )

    def weights_on(self, day: date) -> dict[tuple[str, str], list[Weight]]:
        """(scorecard, org_unit) -> its weight rows in force on `day`, in file order."""
        found: dict[tuple[str, str], list[Weight]] = defaultdict(list)
        for weight in self.weights:
            if weight.in_force(day):
                found[(weight.scorecard, weight.org_unit)].append(weight)
        return dict(found)

    def target_for(self, metric: str, org_unit: str, grain: str, period_start: date, period_end: date):
        """The target in force for a period: the highest version approved by the period's last day."""
        candidates = [
            t
            for t in self._targets_by_key().get((metric, org_unit, grain, period_start), [])
            if t.approved_at <= period_end
        ]
        return max(candidates, key=lambda t: t.version) if candidates else None

    def _targets_by_key(self):
        if not hasattr(self, "_by_key"):
            by_key: dict[tuple, list[Target]] = defaultdict(list)
            for t in self.targets:
                by_key[(t.metric_name, t.org_unit, t.grain, t.period_start)].append(t)
            self._by_key = by_key
        return self._by_key


def _read(path: Path, columns: list[str], problems: list[str]) -> list[tuple[str, dict]]:
    if not path.exists():
        problems.append(f"{path}: missing")
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            problems.append(f"{path}:1: missing column(s) {missing}")
            return []
        # the header is line 1, so the first data row is line 2 (as in _source_row)
        shown = _shown(path)
        return [(f"{shown}:{reader.line_num}", row) for row in reader]


def _shown(path: Path) -> str:
    """The path relative to the project (seeds/targets/...) when it is inside it, else in full."""
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def _parse(where: str, row: dict, field: str, kind, problems: list[str]):
    raw = (row.get(field) or "").strip()
    try:
        if kind is date:
            return date.fromisoformat(raw)
        value = kind(raw)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(raw)
        return value
    except ValueError:
        problems.append(f"{where}: {field} {raw!r} is not a valid {kind.__name__}")
        return None


def load_seeds(seeds_dir: Path) -> Seeds:
    """Read both seed files; a row that cannot be parsed is a problem (raised together)."""
    problems: list[str] = []
    targets, weights = [], []
    for where, row in _read(seeds_dir / TARGETS_FILE, TARGET_COLUMNS, problems):
        parsed = {
            "period_start": _parse(where, row, "period_start", date, problems),
            "approved_at": _parse(where, row, "approved_at", date, problems),
            "version": _parse(where, row, "version", int, problems),
            "fiscal_year_start_month": _parse(where, row, "fiscal_year_start_month", int, problems),
            **{f: _parse(where, row, f, float, problems) for f in ("floor", "target", "stretch")},
        }
        if row["grain"] not in GRAINS:
            problems.append(f"{where}: grain {row['grain']!r} is not one of {list(GRAINS)}")
        if None in parsed.values():
            continue
        targets.append(
            Target(
                metric_name=row["metric_name"].strip(),
                org_unit=row["org_unit"].strip(),
                grain=row["grain"].strip(),
                approved_by=row["approved_by"].strip(),
                where=where,
                **parsed,
            )
        )
    for where, row in _read(seeds_dir / WEIGHTS_FILE, WEIGHT_COLUMNS, problems):
        parsed = {
            "weight_pct": _parse(where, row, "weight_pct", float, problems),
            "effective_from": _parse(where, row, "effective_from", date, problems),
            "effective_to": _parse(where, row, "effective_to", date, problems)
            if (row.get("effective_to") or "").strip()
            else OPEN_END,
        }
        if None in parsed.values():
            continue
        weights.append(
            Weight(
                scorecard=row["scorecard"].strip(),
                org_unit=row["org_unit"].strip(),
                metric_name=row["metric_name"].strip(),
                where=where,
                **parsed,
            )
        )
    if problems:
        raise TargetsError(problems)
    return Seeds(targets=targets, weights=weights)


def validate(
    seeds: Seeds,
    directions: dict[str, str],
    complete_periods: dict[str, list[tuple[date, date]]],
    org_units: set[str] | None = None,
) -> list[str]:
    """Every problem with the seeds, each naming its rows (file:line). Empty when usable.

    directions: metric -> direction for every metric in the catalog.
    complete_periods: grain -> (period_start, period_end) of the complete periods to be scored."""
    problems: list[str] = []
    for row in [*seeds.weights, *seeds.targets]:
        if row.metric_name not in directions:
            problems.append(f"{row.where}: metric {row.metric_name!r} is not in the metric catalog")
        if org_units is not None and row.org_unit not in org_units:
            problems.append(f"{row.where}: org unit {row.org_unit!r} is not in seeds/org_units.csv")
    problems += _weight_problems(seeds.weights)
    problems += _target_problems(seeds.targets, directions)
    problems += _missing_targets(seeds, complete_periods)
    return problems


def _weight_problems(weights: list[Weight]) -> list[str]:
    problems = []
    for w in weights:
        if not w.effective_from < w.effective_to:
            problems.append(f"{w.where}: effective_from {w.effective_from} is not before effective_to")
        if w.weight_pct < 0:
            problems.append(f"{w.where}: negative weight {w.weight_pct}")
    by_line: dict[tuple, list[Weight]] = defaultdict(list)
    by_card: dict[tuple, list[Weight]] = defaultdict(list)
    for w in weights:
        by_line[(w.scorecard, w.org_unit, w.metric_name)].append(w)
        by_card[(w.scorecard, w.org_unit)].append(w)
    for (card, unit, metric), rows in by_line.items():
        rows = sorted(rows, key=lambda w: w.effective_from)
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                if second.effective_from < first.effective_to and first.effective_from < second.effective_to:
                    problems.append(
                        f"{first.where} and {second.where}: validity of {metric} on scorecard {card}"
                        f" / {unit} overlaps ({first.effective_from}..{first.effective_to} and"
                        f" {second.effective_from}..{second.effective_to})"
                    )
    for (card, unit), rows in by_card.items():
        bounds = sorted({b for w in rows for b in (w.effective_from, w.effective_to)})
        for start, end in zip(bounds, bounds[1:], strict=False):
            in_force = [w for w in rows if w.in_force(start)]
            if not in_force:
                continue
            total = math.fsum(w.weight_pct for w in in_force)
            if abs(total - 100.0) > 1e-6:
                shown = "open" if end == OPEN_END else f"before {end}"
                problems.append(
                    f"scorecard {card} / {unit}: weights sum to {total:g}% from {start} ({shown}), not 100%:"
                    f" rows {', '.join(w.where for w in in_force)}"
                )
    return problems


def _target_problems(targets: list[Target], directions: dict[str, str]) -> list[str]:
    problems = []
    seen: dict[tuple, Target] = {}
    for t in targets:
        key = (t.metric_name, t.org_unit, t.grain, t.period_start, t.version)
        if key in seen:
            problems.append(f"{t.where}: duplicates {seen[key].where} (same key and version)")
        seen[key] = t
        sign = -1.0 if directions.get(t.metric_name) == "lower_is_better" else 1.0
        if not sign * t.floor < sign * t.target < sign * t.stretch:
            order = "floor > target > stretch" if sign < 0 else "floor < target < stretch"
            problems.append(
                f"{t.where}: {t.metric_name} is {directions.get(t.metric_name)}, so thresholds must run"
                f" {order} (floor={t.floor:g}, target={t.target:g}, stretch={t.stretch:g})"
            )
    return problems


def _missing_targets(seeds: Seeds, complete_periods: dict[str, list[tuple[date, date]]]) -> list[str]:
    problems = []
    for grain, periods in complete_periods.items():
        for start, end in periods:
            for (_card, unit), rows in seeds.weights_on(end).items():
                for w in rows:
                    if seeds.target_for(w.metric_name, unit, grain, start, end) is None:
                        problems.append(
                            f"no target in force for {w.metric_name} / {unit} / {grain} {start}"
                            f" (complete, scored by {w.where})"
                        )
    return problems

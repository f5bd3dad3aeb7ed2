"""The quality rules (`expectations/rules.yml`, plus each source's own file) and what the build made of them.

dbt gets each rule's severity, threshold and description as the var `quality_rules`, so the
models' `rule(...)` conditions act by the list. After the build, `rule_outcomes` reads
`quarantine.rule_violations` back: how many rows each rule quarantined or warned, with examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from finkpi.settings import PROJECT_DIR
from finkpi.sources import REGISTERED

RULES_FILE = PROJECT_DIR / "expectations" / "rules.yml"
SEVERITIES = ("quarantine", "warn", "fail")
LAYERS = ("raw", "dbt_test", "staging", "validated")


@dataclass(frozen=True)
class Rule:
    id: str
    layer: str
    model: str
    severity: str
    description: str
    threshold: float | None = None


def rule_files() -> list[Path]:
    """The shared list, then each registered source's own rules (finkpi/sources/, `rules_file`)."""
    return [RULES_FILE] + [PROJECT_DIR / source.rules_file for source in REGISTERED if source.rules_file]


@lru_cache(maxsize=4)
def load_rules(paths: tuple[Path, ...] | None = None) -> dict[str, Rule]:
    """Every rule of the rule files (default: `rule_files()`); an id may be listed once only."""

    rules: dict[str, Rule] = {}
    for path in paths or tuple(rule_files()):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in raw["rules"]:
            rule = Rule(**entry)
            if rule.id in rules:
                raise ValueError(f"{path}: rule {rule.id} is listed twice")
            if rule.severity not in SEVERITIES:
                raise ValueError(f"{path}: rule {rule.id}: severity must be one of {SEVERITIES}")
            if rule.layer not in LAYERS:
                raise ValueError(f"{path}: rule {rule.id}: layer must be one of {LAYERS}")
            if rule.severity == "quarantine" and rule.threshold is None:
                raise ValueError(f"{path}: rule {rule.id}: a quarantine rule needs a threshold")
            rules[rule.id] = rule
    return rules


def dbt_var() -> dict:
    """The var `quality_rules` for dbt: id -> severity, threshold, description."""
    return {
        rule.id: {"severity": rule.severity, "threshold": rule.threshold, "description": rule.description}
        for rule in load_rules().values()
    }


@dataclass
class RuleOutcome:
    """What one rule did to one model in a build."""

    rule_id: str
    severity: str
    model: str
    source_model: str
    rows: int
    model_rows: int
    threshold: float | None
    examples: list[str] = field(default_factory=list)  # "key (file:line)"

    @property
    def share(self) -> float:
        return self.rows / self.model_rows if self.model_rows else 0.0

    def describe(self) -> str:
        verb = "quarantined" if self.severity == "quarantine" else "warned"
        text = f"{self.rule_id} on {self.model}: {verb} {self.rows} of {self.model_rows} row(s)"
        if self.threshold is not None:
            text += f" (share {self.share:.2%}, threshold {self.threshold:.2%})"
        return text + ("; e.g. " + "; ".join(self.examples) if self.examples else "")


def rule_outcomes(database: Path, examples: int = 3) -> list[RuleOutcome]:
    """Quarantined and warned rows per rule and model, read from quarantine.rule_violations."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            f"""
            select rule_id, severity, model, source_model, count(*), max(model_rows), max(threshold),
                   list(record_key || coalesce(' of ' || parent_key, '')
                        || ' (' || source_file || ':' || source_line || ')'
                        order by source_line)[1:{int(examples)}]
            from quarantine.rule_violations
            group by all
            order by model, rule_id
            """
        ).fetchall()
    return [
        RuleOutcome(rule, severity, model, source, count, total, threshold, list(sample or []))
        for rule, severity, model, source, count, total, threshold, sample in rows
    ]

"""expectations/rules.yml and the models stay in step: every staging/validated rule has its SQL
in the model it names, and every `rule('...')` in the models is listed."""

from __future__ import annotations

import re
from fnmatch import fnmatch

from finkpi.quality.rules import load_rules
from finkpi.settings import PROJECT_DIR


def test_rules_list_and_models_agree():
    rules = load_rules()
    # rules a macro evaluates count for the models that call the macro
    macro_rules: dict[str, set[str]] = {}
    for path in (PROJECT_DIR / "macros").rglob("*.sql"):
        for name, body in re.findall(
            r"{%-?\s*macro (\w+)\((.*?){%-?\s*endmacro\s*-?%}", path.read_text(), re.S
        ):
            macro_rules[name] = set(re.findall(r"rule\('([a-z_]+)'", body))
    in_models: dict[str, set[str]] = {}
    for path in (PROJECT_DIR / "models").rglob("*.sql"):
        code = path.read_text()
        found = set(re.findall(r"rule\('([a-z_]+)'", code))
        for name, rule_ids in macro_rules.items():
            if re.search(rf"\b{name}\(", code):
                found |= rule_ids
        for rule_id in found:
            in_models.setdefault(rule_id, set()).add(path.stem)
    sql_rules = {r.id: r for r in rules.values() if r.layer in ("staging", "validated")}
    assert set(in_models) == set(sql_rules)
    for rule_id, rule in sql_rules.items():
        assert any(fnmatch(model, rule.model) for model in in_models[rule_id]), (rule_id, in_models[rule_id])

"""`finkpi source new NAME --kind erp|crm`: the files of a new source system, and what is left to do.

A new source gets, in its own folders only:
- its registry entry `finkpi/sources/<name>.py` (the package finds it: no list to edit), with
  the contract of its files read from their headers (`--from FOLDER`), or the layout of the
  bundled source of its kind when it has no files yet;
- `models/staging/<name>/`: the dbt source (from the entry) and one staging model per entity
  of its kind, copied from the bundled source of that kind with the names changed: a source
  whose files have the bundled layout works as is, another one renames the raw columns there;
- `models/intermediate/<name>/`: one validated model per entity with the source's own rules
  (`expectations/rules/<name>.yml`): a missing key, a date after its own as-of date;
- `tests/sources/test_<name>_source.py`: the checks every source must pass, and where its
  metric values are compared with an independent computation.
Left to the engineer (printed as a checklist): the union branches in the marts, which say how
this source's rows join the canonical model, and the metric checks.
"""

from __future__ import annotations

import csv
import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from finkpi.sources import SOURCES, get

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


@dataclass(frozen=True)
class Entity:
    """A canonical entity a source of some kind feeds, and where its rows join the marts."""

    name: str  # stg_<source>__<name>
    reference: str  # the bundled staging model of the same shape, copied as the template
    union_into: str  # where its union branch goes (a file, and the CTE when it is in a mart)
    key: str  # the column that identifies a row
    business_date: str  # the date judged against the source's as-of date
    # (amount, currency, rate date) when the validated model converts an amount to the reporting
    # currency with the source's rates (rule unconvertible_amount); the date is SQL over `staged`
    converted: tuple[str, str, str] | None = None


# The reference source of each kind: its staging models are the templates.
REFERENCE_SOURCE = {"crm": "crm", "erp": "erp"}
ENTITIES = {
    "crm": (
        Entity(
            "opportunities",
            "stg_crm__opportunities",
            "models/intermediate/unions/int_opportunities_unioned.sql",
            "opportunity_id",
            "created_date_local",
            converted=("amount", "currency", "least(staged.close_date, {as_of})"),
        ),
        Entity(
            "cases",
            "stg_crm__cases",
            "models/intermediate/unions/int_cases_unioned.sql",
            "case_id",
            "created_date_local",
        ),
    ),
    "erp": (
        Entity(
            "sales_orders",
            "stg_erp__sales_orders",
            "models/marts/sales/fct_sales_order_lines.sql, CTE `orders`",
            "order_id",
            "order_date",
        ),
        Entity(
            "sales_order_lines",
            "stg_erp__sales_order_lines",
            "models/marts/sales/fct_sales_order_lines.sql, CTE `lines`",
            "order_id",
            "promised_date",
        ),
    ),
}


@dataclass
class Scaffold:
    project_dir: Path
    name: str
    kind: str
    data_from: Path | None = None
    company_code: str | None = None

    def __post_init__(self):
        if not NAME.match(self.name) or keyword.iskeyword(self.name):
            raise ValueError(
                f"source name {self.name!r}: lower-case letters, digits and _, starting with a letter"
            )
        if self.name in SOURCES:
            raise ValueError(f"source {self.name!r} is registered already (finkpi/sources/{self.name}.py)")
        if self.kind not in ENTITIES:
            raise ValueError(f"kind must be one of {sorted(ENTITIES)}, not {self.kind!r}")
        self.reference = get(REFERENCE_SOURCE[self.kind])
        self.upper = self.name.upper()

    # -- what it writes ----------------------------------------------------------------------------
    def files(self) -> dict[Path, str]:
        """Every file the scaffold writes (relative path -> text); none exists yet."""
        tables = self._tables()
        files = {
            Path("finkpi/sources") / f"{self.name}.py": self._entry(tables),
            Path("models/staging") / self.name / f"_{self.name}__sources.yml": self._dbt_source(tables),
            Path("models/staging") / self.name / f"_{self.name}__models.yml": self._staging_yaml(),
            Path("models/intermediate") / self.name / f"_{self.name}__models.yml": self._validated_yaml(),
            Path("expectations/rules") / f"{self.name}.yml": self._rules(),
            Path("tests/sources") / f"test_{self.name}_source.py": self._test(),
        }
        for entity in ENTITIES[self.kind]:
            table = self._table_for(entity, tables)
            files[Path("models/staging") / self.name / f"stg_{self.name}__{entity.name}.sql"] = self._staging(
                entity, table
            )
            files[
                Path("models/intermediate") / self.name / f"int_{self.name}_{entity.name}_validated.sql"
            ] = self._validated(entity)
        return files

    def write(self) -> list[Path]:
        files = self.files()
        clashes = [path for path in files if (self.project_dir / path).exists()]
        if clashes:
            raise FileExistsError(f"would overwrite {', '.join(map(str, clashes))}: nothing written")
        for path, text in files.items():
            target = self.project_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return list(files)

    def checklist(self) -> str:
        branches = []
        for entity in ENTITIES[self.kind]:
            branches.append(
                f"   - {entity.union_into}: after the {self.reference.name} rows add\n"
                f"         union all\n"
                f"         select * from ({{{{ accepted('int_{self.name}_{entity.name}_validated') }}}})"
                f" as {self.name}"
            )
        violations = "\n".join(
            f"         union all\n"
            f"         {{{{ rule_violations('int_{self.name}_{entity.name}_validated', "
            f"'stg_{self.name}__{entity.name}', 'flagged.{entity.key}') }}}}"
            for entity in ENTITIES[self.kind]
        )
        folder = f"FINKPI_{self.upper}_DIR (default data/{self.name})"
        return f"""Left to do for source {self.name} (docs/adding-a-source.md says why each step):
1. finkpi/sources/{self.name}.py: check each column's type and each table's keys, the as-of
   column, the company ({self.company_code or "set company_code"}) and the rates.
2. Put the files in {folder}.
3. models/staging/{self.name}/stg_{self.name}__*.sql: map your raw column names where they differ
   from the {self.reference.name} layout (each model says which file it reads).
4. The union branches (the only existing files you edit):
{chr(10).join(branches)}
   - models/quarantine/rule_violations.sql:
{violations}
5. tests/sources/test_{self.name}_source.py: compute one metric from your files with pandas and
   compare it with `finkpi query` (the skeleton says where).
6. Run: finkpi run, then finkpi query --metrics <metric> --group-by source_system
"""

    # -- the registry entry ------------------------------------------------------------------------
    def _tables(self) -> list[tuple[str, str, list[str]]]:
        """(table, file stem, columns) of the new source: its files' headers, or the reference's."""
        if self.data_from is None:
            return [(t.name, t.file_stem, t.column_names) for t in self.reference.tables]
        found = sorted(Path(self.data_from).glob("*.csv"))
        if not found:
            raise FileNotFoundError(f"{self.data_from} has no .csv file to read a contract from")
        tables = []
        for path in found:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
            if not header:
                raise ValueError(f"{path} line 1: no header")
            table = path.stem if re.fullmatch(r"[A-Za-z_]\w*", path.stem) else _snake(path.stem)
            tables.append((table, path.stem, header))
        return tables

    def _table_for(self, entity: Entity, tables) -> str:
        """The new source's table that feeds an entity: the one named like the reference's file."""
        reference_file = next(
            (
                t.file_stem
                for t in self.reference.tables
                if f"raw_source('{self.reference.name}', '{t.name}')" in self._reference_sql(entity)
            ),
            entity.name,
        )
        wanted = {reference_file.lower(), _snake(reference_file), entity.name}
        return next(
            (table for table, file, _ in tables if table in wanted or file.lower() in wanted), entity.name
        )

    def _entry(self, tables) -> str:
        reference_types = {
            (t.file_stem.lower(), c.name): c.type for t in self.reference.tables for c in t.columns
        }
        lines = []
        for table, file, columns in tables:
            types = [json.dumps(reference_types.get((file.lower(), c), "varchar")) for c in columns]
            cols = ",\n".join(
                f'            ({json.dumps(c)}, {kind}, "")' for c, kind in zip(columns, types, strict=True)
            )
            lines.append(f'    "{table}": (\n        "{file}",\n        [\n{cols},\n        ],\n    ),')
        # the as-of date: the first date column of the table that feeds the first entity
        activity = self._table_for(ENTITIES[self.kind][0], tables)
        ordered = sorted(tables, key=lambda table: table[0] != activity)
        first_date = next(
            (
                (table, c)
                for table, _f, cols in ordered
                for c in cols
                if "date" in c.lower() or c.lower().endswith("_at")
            ),
            (ordered[0][0], ordered[0][2][0]),
        )
        company = (
            f'Company("{self.company_code}", name="TODO", country="TODO", currency="EUR")'
            if self.company_code
            else "None"
        )
        imports = "AsOfDate, Company, SourceSystem, tables_from_contract"
        if not self.company_code:
            imports = imports.replace(" Company,", "")
        return f'''"""The {self.name} source ({self.kind.upper()}): its raw-file contract and registry entry.

Written by `finkpi source new`; review each type (the DuckDB type staging casts it to; the
pre-flight check rejects a value that does not parse), each table's keys and the as-of column.
"""

from __future__ import annotations

from finkpi.sources.registry import {imports}

# table -> (file name without extension, [(column, type, description)])
CONTRACT: dict[str, tuple[str, list[tuple[str, str, str]]]] = {{
{chr(10).join(lines)}
}}

# table -> the columns that identify a record
KEYS: dict[str, tuple[str, ...]] = {{table: (columns[0][0],) for table, (_file, columns) in CONTRACT.items()}}

SOURCE = SourceSystem(
    name="{self.name}",
    kind="{self.kind}",
    description="TODO: what this system is and what it holds",
    tables=tables_from_contract(
        {{table: columns for table, (_file, columns) in CONTRACT.items()}},
        KEYS,
        files={{table: file for table, (file, _columns) in CONTRACT.items()}},
    ),
    folder_env="FINKPI_{self.upper}_DIR",
    default_folder="data/{self.name}",
    raw_format="csv",
    # its company's business date: the newest date in this column
    as_of=AsOfDate("{first_date[0]}", "{first_date[1]}"),
    as_of_env="FINKPI_{self.upper}_AS_OF_DATE",
    # the company its rows belong to, for a source whose rows carry no company code (a CRM); name,
    # country and currency are dim_companies' when the company is new to finkpi. None: an ERP's
    # rows carry their own.
    company={company},
    # None: the group's rates; or a model of yours (from_currency, to_currency, rate_date, rate)
    rates_model=None,
    # how its ledger rounds reporting-currency amounts: "document" (as the ledger posts a
    # document, the difference on its last line) or "line" (each line by itself)
    reporting_rounding="document",
    rules_file="expectations/rules/{self.name}.yml",
)
'''

    # -- dbt ---------------------------------------------------------------------------------------
    def _dbt_source(self, tables) -> str:
        # the base file and its deliveries' glob (var sources `files`) read by the reader of their
        # format (var raw_readers, dbt_project.yml), as the bundled sources read theirs
        location = (
            "{%- set raw = var('sources', {}).get('" + self.name + "', {'folder': 'data/" + self.name + "', "
            "'raw_format': 'csv'}) -%}{%- set files = raw.get('files', \"['\" ~ raw['folder'] ~ "
            '"/{identifier}.csv\']") -%}'
            "{{ var('raw_readers')[raw['raw_format']] | replace('{files}', files) }}"
        )
        spec = {
            "sources": [
                {
                    "name": self.name,
                    "description": f"TODO: the {self.name} extracts ({self.kind.upper()}), a file per table.",
                    "meta": {"external_location": location, "owner": "data-engineering"},
                    "tables": [
                        {
                            "name": table,
                            "identifier": file,
                            "description": f"Raw `{file}` extract ({len(columns)} columns, all text).",
                            "columns": [{"name": c, "quote": True} for c in columns],
                        }
                        for table, file, columns in tables
                    ],
                }
            ]
        }
        header = (
            f"# The {self.name} source, read straight from its files (every column as text). Its contract\n"
            f"# is finkpi/sources/{self.name}.py (a test keeps the two equal); folder and format come from\n"
            "# the registry (var sources).\n"
        )
        return header + yaml.safe_dump(spec, sort_keys=False, width=100, allow_unicode=True)

    def _reference_sql(self, entity: Entity) -> str:
        (path,) = (self.project_dir / "models" / "staging").rglob(f"{entity.reference}.sql")
        return path.read_text()

    def _staging(self, entity: Entity, table: str) -> str:
        sql = self._reference_sql(entity)
        sql = re.sub(
            rf"raw_source\('{self.reference.name}', '\w+'\)", f"raw_source('{self.name}', '{table}')", sql
        )
        sql = sql.replace(
            f"source_company_code('{self.reference.name}')", f"source_company_code('{self.name}')"
        )
        sql = sql.replace(f"'{self.reference.name}' as source_system", f"'{self.name}' as source_system")
        return (
            f"-- {self.name} {entity.name}: a copy of {entity.reference} (the {self.reference.name} layout)\n"
            f"-- reading `{table}`. Where your raw column names differ, change them here: the output\n"
            f"-- columns must stay those of {entity.reference}, in the same order (the marts union\n"
            "-- the two).\n" + sql
        )

    def _validated(self, entity: Entity) -> str:
        rules = [
            f"rule('{self.name}_missing_key', 'staged.{entity.key} is null'),",
            f"rule('{self.name}_future_date',\n"
            f"                'staged.{entity.business_date} > ' ~ source_as_of_date('{self.name}')),",
        ]
        conversion = rate_join = ""
        if entity.converted:
            amount, currency, on_date = entity.converted
            on_date = on_date.format(as_of="' ~ source_as_of_date('" + self.name + "') ~ '")
            rules.append(
                "rule('unconvertible_amount',\n"
                f'                "staged.{amount} is not null and staged.{currency} <> \'"\n'
                "                ~ var('reporting_currency') ~ \"' and rate.rate is null\"),"
            )
            conversion = (
                f"        {{{{ to_reporting('staged.{amount}', 'staged.{currency}', 'rate.rate') }}}}\n"
                f"            as {amount}_reporting,\n"
            )
            rate_join = (
                f"    {{{{ join_rate(\n        'rate', 'staged.{currency}',\n"
                f"        '{on_date}', '{self.name}'\n    ) }}}}\n"
            )
        rule_lines = "\n            ".join(rules)
        return f"""-- {self.name} {entity.name} with the source's own rules
-- (expectations/rules/{self.name}.yml); the marts read the accepted rows,
-- quarantine.rule_violations keeps the others.

with

staged as (

    select * from {{{{ ref('stg_{self.name}__{entity.name}') }}}}

),

checked as (

    select
        staged.*,
{conversion}        {{{{ rule_failures([
            {rule_lines}
        ]) }}}} as _rule_failures
    from staged
{rate_join}
)

select
    *,
    {{{{ is_quarantined('_rule_failures') }}}} as _quarantined
from checked
"""

    def _staging_yaml(self) -> str:
        models = [
            {
                "name": f"stg_{self.name}__{entity.name}",
                "description": f"The {self.name} {entity.name}, in the shape of {entity.reference}.",
                "columns": [
                    {"name": entity.key, "description": "TODO"},
                    {"name": "source_system", "description": f"always {self.name}"},
                ],
            }
            for entity in ENTITIES[self.kind]
        ]
        return f"# Staging models of the {self.name} source.\n" + yaml.safe_dump(
            {"models": models}, sort_keys=False, width=100
        )

    def _validated_yaml(self) -> str:
        models = [
            {
                "name": f"int_{self.name}_{entity.name}_validated",
                "description": f"Every {self.name} {entity.name[:-1]} row with the rules it breaks.",
                "data_tests": [{"unique_key": {"arguments": {"columns": [entity.key]}}}],
                "columns": [
                    {"name": "_rule_failures", "description": "Ids of the rules the row breaks."},
                    {
                        "name": "_quarantined",
                        "description": "True when a broken rule has severity quarantine.",
                    },
                ],
            }
            for entity in ENTITIES[self.kind]
        ]
        return f"# Validated models of the {self.name} source.\n" + yaml.safe_dump(
            {"models": models}, sort_keys=False, width=100
        )

    def _rules(self) -> str:
        rules = [
            {
                "id": f"{self.name}_missing_key",
                "layer": "validated",
                "model": f"int_{self.name}_*_validated",
                "severity": "quarantine",
                "threshold": 0.01,
                "description": f"a {self.name} record without its key",
            },
            {
                "id": f"{self.name}_future_date",
                "layer": "validated",
                "model": f"int_{self.name}_*_validated",
                "severity": "quarantine",
                "threshold": 0.01,
                "description": f"a {self.name} record dated after the source's own as-of date",
            },
        ]
        return (
            f"# The {self.name} source's own quality rules (the format of expectations/rules.yml).\n"
            + yaml.safe_dump({"rules": rules}, sort_keys=False, width=100)
        )

    def _test(self) -> str:
        return f'''"""The {self.name} source: its files pass the pre-flight check, and (TODO) one of its
metrics equals an independent computation over its files."""

from finkpi.quality import preflight
from finkpi.settings import load_settings
from finkpi.sources import get


def test_the_files_pass_the_preflight():
    assert preflight.find_problems(load_settings(), (get("{self.name}"),)) == []


# TODO: compute a metric this source feeds with pandas over its files and compare it with the
# built warehouse (see tests/sap/test_sap_source.py and tests/sources/test_onboarding.py).
'''


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")

{#-
    The quality rules' building blocks. The rules themselves are listed in expectations/rules.yml;
    finkpi passes their severities, thresholds and descriptions as the var `quality_rules`
    (finkpi/quality/rules.py), so a rule's severity is changed in one place.

    A model flags each row with the rules it breaks (`_rule_failures`, a list of rule ids) and
    `_quarantined` (it breaks at least one rule of severity quarantine). Downstream models read
    only `accepted(...)` rows; quarantine.rule_violations keeps the others, with file and line.
-#}

{#- One rule: its id when the condition holds, else null. -#}
{% macro rule(rule_id, condition) -%}
    case when {{ condition }} then '{{ rule_id }}' end
{%- endmacro %}

{#- The ids of the rules (expressions made with `rule`) that a row breaks, nulls dropped. -#}
{% macro rule_failures(rules) -%}
    {{ list_distinct_sorted(text_list(rules)) }}
{%- endmacro %}

{#- A SQL list literal of the rule ids of one severity. -#}
{% macro rules_of_severity(severity) -%}
    {%- set ids = [] -%}
    {%- for rule_id, settings in var('quality_rules', {}).items() -%}
        {%- if settings.get('severity') == severity -%}{%- do ids.append("'" ~ rule_id ~ "'") -%}{%- endif -%}
    {%- endfor -%}
    {{ text_list(ids) }}
{%- endmacro %}

{#- True when the failures include a rule of severity quarantine. -#}
{% macro is_quarantined(failures) -%}
    {{ lists_overlap(failures, rules_of_severity('quarantine')) }}
{%- endmacro %}

{#- The accepted rows of a validated model, without the quality columns. -#}
{% macro accepted(model_name) -%}
    select {{ star_except(['_rule_failures', '_quarantined']) }}
    from {{ ref(model_name) }}
    where not _quarantined
{%- endmacro %}

{#- A column expression giving one setting (severity, threshold, description) of `rule_id`. -#}
{% macro rule_setting(rule_id_column, setting, cast_to=none) -%}
    {%- set cast_to = cast_to or dbt.type_string() -%}
    case {{ rule_id_column }}
    {%- for rule_id, settings in var('quality_rules', {}).items() %}
        when '{{ rule_id }}' then cast(
            {%- if settings.get(setting) is none %} null
            {%- elif setting == 'threshold' %} {{ settings.get(setting) }}
            {%- else %} '{{ settings.get(setting) | replace("'", "''") }}'
            {%- endif %} as {{ cast_to }})
    {%- endfor %}
    end
{%- endmacro %}

{#-
    The rows of one validated model that break a rule (one row per row and rule), for the long
    table quarantine.rule_violations. `pii` columns are replaced by their SHA-256 in row_values.
    `parent` is the key of the document the row depends on (a payment's invoice), if any.
    `detail` is an expression saying what is wrong with the row (an unbalanced entry's imbalance),
    printed with a failing rule.
-#}
{% macro rule_violations(model_name, source_model, key, pii=[], parent=none, detail=none) -%}
    select
        violations.rule_id,
        {{ rule_setting('violations.rule_id', 'severity') }} as severity,
        {{ rule_setting('violations.rule_id', 'threshold', 'double') }} as threshold,
        {{ rule_setting('violations.rule_id', 'description') }} as reason,
        '{{ model_name }}' as model,
        '{{ source_model }}' as source_model,
        (select count(*) from {{ ref(source_model) }}) as model_rows,
        cast(violations.record_key as {{ dbt.type_string() }}) as record_key,
        cast(violations.parent_key as {{ dbt.type_string() }}) as parent_key,
        violations._source_file as source_file,
        violations._source_row as source_line,
        violations._quarantined as quarantined,
        cast(violations.detail as {{ dbt.type_string() }}) as detail,
        violations.row_values
    from (
        select
            {{ unnest_list('flagged._rule_failures') }} as rule_id,
            {{ key }} as record_key,
            {{ parent if parent else 'null' }} as parent_key,
            {{ detail if detail else 'null' }} as detail,
            flagged._source_file,
            flagged._source_row,
            flagged._quarantined,
            {{ row_to_json('flagged') }} as row_values
        from (
            select
                {{ star_except_with_hashed(['_rule_failures', '_quarantined'], pii) }},
                _rule_failures,
                _quarantined
            from {{ ref(model_name) }}
            where {{ list_length('_rule_failures') }} > 0
        ) as flagged
    ) as violations
{%- endmacro %}

{#- Every column but `columns`, the `hashed` ones replaced by their SHA-256 (personal fields).
    DuckDB keeps the column order (`replace`); Spark has no `replace`, so there the hashed columns
    come after the others (only the key order inside row_values differs). -#}
{% macro star_except_with_hashed(columns, hashed) -%}
    {{ return(adapter.dispatch('star_except_with_hashed', 'finkpi')(columns, hashed)) }}
{%- endmacro %}

{% macro duckdb__star_except_with_hashed(columns, hashed) -%}
    * exclude ({{ columns | join(', ') }})
    {%- if hashed %} replace (
        {%- for column in hashed %}
        sha256(cast({{ column }} as varchar)) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    ){%- endif %}
{%- endmacro %}

{% macro spark__star_except_with_hashed(columns, hashed) -%}
    * except ({{ (columns + hashed) | join(', ') }})
    {%- for column in hashed %},
        {{ sha256_hex('cast(' ~ column ~ ' as string)') }} as {{ column }}
    {%- endfor %}
{%- endmacro %}

{#- True when a date falls in a closed month (var closed_periods: ['2025-06', ...]). -#}
{% macro in_closed_period(date_expr) -%}
    {%- set periods = var('closed_periods', []) -%}
    {%- if periods -%}
        {{ year_month_label(date_expr) }} in ('{{ periods | join("', '") }}')
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#-
    A document that moves an invoice's open balance (a payment, credit note or write-off), with
    the rules it breaks: it leaves the flow when its invoice is quarantined (parent_quarantined),
    since the invoice's balance is not in the marts. One definition for the three documents.
-#}
{% macro documents_of_validated_invoices(documents_relation) %}

with

documents as (

    select * from {{ documents_relation }}

),

invoices as (

    select
        invoice_id,
        _quarantined
    from {{ ref('int_invoices_validated') }}

),

checked as (

    select
        documents.*,
        {{ rule_failures([
            rule('parent_quarantined', 'invoices._quarantined'),
        ]) }} as _rule_failures
    from documents
    left join invoices
        on documents.invoice_id = invoices.invoice_id

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from checked

{% endmacro %}

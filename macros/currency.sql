{#-
    Converts a transaction-currency amount to the reporting currency with a rate joined by
    join_rate (reporting-currency units per unit of the transaction currency, on a date), rounded
    to the cent, half away from zero. Which amount is converted is the caller's: a document's
    total where the source's ledger rounds per document (rounds_per_document), so subledgers
    reconcile with their GL accounts to the cent. A missing rate gives NULL (caught by not_null
    tests), never a silent 1.
-#}
{% macro to_reporting(amount, currency, rate) -%}
    case
        when {{ currency }} = '{{ var("reporting_currency") }}' then cast({{ amount }} as decimal(18, 2))
        else cast(round({{ amount }} * {{ rate }}, 2) as decimal(18, 2))
    end
{%- endmacro %}

{#- The join that brings the rate of one currency on one day: from the rates of `source_name`
    (its registry entry's rates_model: columns from_currency, to_currency, rate_date, rate), or
    the group's (var group_rates_model). -#}
{% macro join_rate(alias, currency, on_date, source_name=none) -%}
    {%- set rates = registered_source(source_name).get('rates_model') if source_name else none -%}
    left join {{ ref(rates or var('group_rates_model')) }} as {{ alias }}
        on {{ alias }}.from_currency = {{ currency }}
        and {{ alias }}.to_currency = '{{ var("reporting_currency") }}'
        and {{ alias }}.rate_date = {{ on_date }}
{%- endmacro %}

{#- The standard cost of a product valid on a day (valid_from inclusive, valid_to exclusive). -#}
{% macro join_standard_cost(alias, product_id, on_date) -%}
    left join {{ ref('stg_erp__product_standard_costs') }} as {{ alias }}
        on {{ alias }}.product_id = {{ product_id }}
        and {{ on_date }} >= {{ alias }}.valid_from
        and {{ on_date }} < {{ alias }}.valid_to
{%- endmacro %}

{#- Whether the source named in `source_column` rounds reporting-currency amounts per document
    (its registry entry's reporting_rounding, finkpi/sources/registry.py; a source the var does
    not name: per document), as a boolean expression per row. -#}
{% macro rounds_per_document(source_column) -%}
    {%- set per_line = [] -%}
    {%- for source_name, declared in var('sources', {}).items() -%}
        {%- if declared.get('reporting_rounding', 'document') == 'line' -%}
            {%- do per_line.append("'" ~ source_name ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if per_line -%}
        {{ source_column }} not in ({{ per_line | join(', ') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Remainder on the last line: each line keeps its rounded share, the last line (is_last_line)
    takes the document total minus the other lines, so the lines add up to the document to the
    cent (credit notes spread over invoice lines; invoice lines rounded per document). -#}
{% macro allocate_remainder(header_amount, rounded_share, partition_by='credit_note_id') -%}
    case
        when is_last_line
            then {{ header_amount }}
                - (sum({{ rounded_share }}) over (partition by {{ partition_by }}) - {{ rounded_share }})
        else {{ rounded_share }}
    end
{%- endmacro %}

{#-
    The reporting-currency amount by which one document moves an open item (an invoice's open
    balance), the way the ledger posts it: round(open after x rate) - round(open before x rate),
    at the open item's own (invoice-date) rate. These telescope, so the sum over an item's
    documents up to any date is round(open balance x rate): the control account in the ledger
    equals the subledger to the cent, invoice by invoice. Returned positive.
-#}
{% macro telescoped_to_reporting(entity_key, signed_amount, rate, order_by) -%}
    {%- set window -%}
        over (partition by {{ entity_key }} order by {{ order_by }} rows unbounded preceding)
    {%- endset -%}
    cast(abs(
        round(sum({{ signed_amount }}) {{ window }} * {{ rate }}, 2)
        - round((sum({{ signed_amount }}) {{ window }} - {{ signed_amount }}) * {{ rate }}, 2)
    ) as decimal(18, 2))
{%- endmacro %}

{#- round(amount x part / whole, 2) computed exactly in integer cents, half away from zero.
    DuckDB divides decimals in floating point, which rounds some half cents the wrong way. -#}
{% macro prorated_cents(amount, part, whole) -%}
    {{ return(adapter.dispatch('prorated_cents', 'finkpi')(amount, part, whole)) }}
{%- endmacro %}

{% macro duckdb__prorated_cents(amount, part, whole) -%}
    cast(
        sign({{ amount }} * {{ part }} * {{ whole }})
        * ((2 * abs(cast({{ amount }} * 100 as hugeint) * cast({{ part }} * 100 as hugeint))
            + abs(cast({{ whole }} * 100 as hugeint)))
            // (2 * abs(cast({{ whole }} * 100 as hugeint))))
        / 100 as decimal(18, 2)
    )
{%- endmacro %}

{#- Spark: the same integer arithmetic in decimal(38, 0) and `div`; the sign as an integer (Spark's
    sign() is a double) and the last division in decimals, so no value passes through a float. -#}
{% macro spark__prorated_cents(amount, part, whole) -%}
    cast(
        cast(
            case when {{ amount }} * {{ part }} * {{ whole }} < 0 then -1 else 1 end
            * ((2 * abs(cast({{ amount }} * 100 as decimal(38, 0))
                * cast({{ part }} * 100 as decimal(38, 0)))
                + abs(cast({{ whole }} * 100 as decimal(38, 0))))
                div (2 * abs(cast({{ whole }} * 100 as decimal(38, 0)))))
        as decimal(20, 0)) / 100 as decimal(18, 2)
    )
{%- endmacro %}

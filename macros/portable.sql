{#-
    SQL that differs between DuckDB (the default target) and Spark (the scale-out target), one
    dispatched macro per difference: `duckdb__` is what the models always said on DuckDB (so the
    DuckDB build is unchanged), `spark__` the same meaning in Spark SQL. What dbt's own
    cross-database macros cover (dbt.date_trunc, dbt.dateadd, dbt.datediff, dbt.last_day,
    dbt.type_string) is used directly in the models instead.
-#}

{#- Every column of a relation but some: `t.* exclude (a, b)` in DuckDB, `t.* except (a, b)`. -#}
{% macro star_except(columns, relation_alias=none) -%}
    {{ return(adapter.dispatch('star_except', 'finkpi')(columns, relation_alias)) }}
{%- endmacro %}

{% macro duckdb__star_except(columns, relation_alias) -%}
    {{ relation_alias ~ '.' if relation_alias }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation_alias) -%}
    {{ relation_alias ~ '.' if relation_alias }}* except ({{ columns | join(', ') }})
{%- endmacro %}


{#- A list of text values (SQL expressions) as a list column. -#}
{% macro text_list(items) -%}
    {{ return(adapter.dispatch('text_list', 'finkpi')(items)) }}
{%- endmacro %}

{% macro duckdb__text_list(items) -%}
    cast([{{ items | join(', ') }}] as varchar[])
{%- endmacro %}

{% macro spark__text_list(items) -%}
    cast(array({{ items | join(', ') }}) as array<string>)
{%- endmacro %}


{#- The distinct non-null values of a list, sorted (DuckDB's list_distinct drops NULLs itself). -#}
{% macro list_distinct_sorted(list_expr) -%}
    {{ return(adapter.dispatch('list_distinct_sorted', 'finkpi')(list_expr)) }}
{%- endmacro %}

{% macro duckdb__list_distinct_sorted(list_expr) -%}
    list_sort(list_distinct({{ list_expr }}))
{%- endmacro %}

{% macro spark__list_distinct_sorted(list_expr) -%}
    array_sort(array_distinct(filter({{ list_expr }}, item -> item is not null)))
{%- endmacro %}


{#- True when two lists share a value. -#}
{% macro lists_overlap(left_list, right_list) -%}
    {{ return(adapter.dispatch('lists_overlap', 'finkpi')(left_list, right_list)) }}
{%- endmacro %}

{% macro duckdb__lists_overlap(left_list, right_list) -%}
    list_has_any({{ left_list }}, {{ right_list }})
{%- endmacro %}

{% macro spark__lists_overlap(left_list, right_list) -%}
    coalesce(arrays_overlap({{ left_list }}, {{ right_list }}), false)
{%- endmacro %}


{#- Two lists one after the other. -#}
{% macro list_concat(left_list, right_list) -%}
    {{ return(adapter.dispatch('list_concat', 'finkpi')(left_list, right_list)) }}
{%- endmacro %}

{% macro duckdb__list_concat(left_list, right_list) -%}
    list_concat({{ left_list }}, {{ right_list }})
{%- endmacro %}

{% macro spark__list_concat(left_list, right_list) -%}
    concat({{ left_list }}, {{ right_list }})
{%- endmacro %}


{#- The number of values in a list. -#}
{% macro list_length(list_expr) -%}
    {{ return(adapter.dispatch('list_length', 'finkpi')(list_expr)) }}
{%- endmacro %}

{% macro duckdb__list_length(list_expr) -%}
    len({{ list_expr }})
{%- endmacro %}

{% macro spark__list_length(list_expr) -%}
    size({{ list_expr }})
{%- endmacro %}


{#- One output row per value of a list (in a select list). -#}
{% macro unnest_list(list_expr) -%}
    {{ return(adapter.dispatch('unnest_list', 'finkpi')(list_expr)) }}
{%- endmacro %}

{% macro duckdb__unnest_list(list_expr) -%}
    unnest({{ list_expr }})
{%- endmacro %}

{% macro spark__unnest_list(list_expr) -%}
    explode({{ list_expr }})
{%- endmacro %}


{#- A whole row of a relation as one JSON object (text). -#}
{% macro row_to_json(relation_alias) -%}
    {{ return(adapter.dispatch('row_to_json', 'finkpi')(relation_alias)) }}
{%- endmacro %}

{% macro duckdb__row_to_json(relation_alias) -%}
    to_json({{ relation_alias }})
{%- endmacro %}

{% macro spark__row_to_json(relation_alias) -%}
    to_json(struct({{ relation_alias }}.*))
{%- endmacro %}


{#- SHA-256 of a text, as lower-case hex. -#}
{% macro sha256_hex(text_expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'finkpi')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(text_expr) -%}
    sha256({{ text_expr }})
{%- endmacro %}

{% macro spark__sha256_hex(text_expr) -%}
    sha2({{ text_expr }}, 256)
{%- endmacro %}


{#- Replace every match of a regular expression (DuckDB replaces the first one without 'g'). -#}
{% macro regexp_replace_all(text_expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'finkpi')(text_expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regexp_replace_all(text_expr, pattern, replacement) -%}
    regexp_replace({{ text_expr }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(text_expr, pattern, replacement) -%}
    regexp_replace({{ text_expr }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}


{#- Integer division, rounding towards minus infinity for the non-negative values used here. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'finkpi')(dividend, divisor)) }}
{%- endmacro %}

{% macro duckdb__integer_divide(dividend, divisor) -%}
    {{ dividend }} // {{ divisor }}
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    {{ dividend }} div {{ divisor }}
{%- endmacro %}


{#- A raw text timestamp with a UTC offset ('2025-03-01T09:30:00+01:00') as a UTC timestamp without
    time zone (empty text is NULL). The Spark session runs in UTC (profiles.yml), so its
    timestamps are UTC too. -#}
{% macro utc_timestamp(text_expr) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'finkpi')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__utc_timestamp(text_expr) -%}
    timezone('UTC', cast(nullif(trim({{ text_expr }}), '') as timestamptz))
{%- endmacro %}

{% macro spark__utc_timestamp(text_expr) -%}
    cast(nullif(trim({{ text_expr }}), '') as timestamp)
{%- endmacro %}


{#- Seconds from one timestamp to another (dbt.datediff(..., 'second') says the same at ten times
    the length on Spark). -#}
{% macro seconds_between(start_timestamp, end_timestamp) -%}
    {{ return(adapter.dispatch('seconds_between', 'finkpi')(start_timestamp, end_timestamp)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_timestamp, end_timestamp) -%}
    date_diff('second', {{ start_timestamp }}, {{ end_timestamp }})
{%- endmacro %}

{% macro spark__seconds_between(start_timestamp, end_timestamp) -%}
    (unix_timestamp({{ end_timestamp }}) - unix_timestamp({{ start_timestamp }}))
{%- endmacro %}


{#- 'YYYY-MM' of a date. -#}
{% macro year_month_label(date_expr) -%}
    {{ return(adapter.dispatch('year_month_label', 'finkpi')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__year_month_label(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}

{% macro spark__year_month_label(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}


{#- ISO day of the week: Monday 1 .. Sunday 7. -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'finkpi')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expr) -%}
    isodow({{ date_expr }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    extract(dayofweek_iso from {{ date_expr }})
{%- endmacro %}


{#- A query with one row per day from start_date to end_date (both included), column date_day. -#}
{% macro calendar_days(start_date, end_date) -%}
    {{ return(adapter.dispatch('calendar_days', 'finkpi')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__calendar_days(start_date, end_date) -%}
    select cast(day as date) as date_day
    from range({{ start_date }}, {{ end_date }} + interval 1 day, interval 1 day) as calendar(day)
{%- endmacro %}

{% macro spark__calendar_days(start_date, end_date) -%}
    select explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day)) as date_day
{%- endmacro %}

{#-
    Reads one raw extract with its position: every staging model starts here.

    The raw columns arrive as text (see the source definitions); `_source_file` names the file
    and `_source_row` the line in it (the header is line 1, so the first record is line 2; for
    Parquet it is the 1-based row number), so every rule can point at the exact record.
    WITH ORDINALITY numbers the rows in file order even when DuckDB reads the file in parallel
    (a window function without ORDER BY does not: measured, it reorders rows). Across several
    files of one glob the numbering runs on, so each file's first ordinal is subtracted.
-#}
{#- `raw_format`: the format of this source's files when it is not var('raw_format') (the SAP
    extract is always CSV). -#}
{% macro raw_source(source_name, table_name, raw_format=none) -%}
    {%- set header_lines = 1 if (raw_format or var('raw_format', 'csv')) == 'csv' else 0 -%}
    select
        raw.* exclude (filename, ordinality),
        raw.filename as _source_file,
        raw.ordinality - min(raw.ordinality) over (partition by raw.filename)
        + 1 + {{ header_lines }} as _source_row
    from (select * from {{ source(source_name, table_name) }} with ordinality) as raw
{%- endmacro %}

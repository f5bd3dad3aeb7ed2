{#-
    Reads one raw extract with its position: every staging model starts here.

    The raw columns arrive as text (see the source definitions); `_source_file` names the file
    and `_source_row` the line in it (the header is line 1, so the first record is line 2; for
    Parquet it is the 1-based row number), so every rule can point at the exact record.
    Order within a file is the file's order: DuckDB preserves insertion order when reading.
-#}
{% macro raw_source(source_name, table_name) -%}
    {%- set header_lines = 1 if var('raw_format', 'csv') == 'csv' else 0 -%}
    select
        raw.* exclude (filename),
        raw.filename as _source_file,
        row_number() over (partition by raw.filename) + {{ header_lines }} as _source_row
    from {{ source(source_name, table_name) }} as raw
{%- endmacro %}

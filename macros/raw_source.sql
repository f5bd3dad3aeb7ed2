{#-
    Reads one raw extract with its position: every staging model starts here.

    The raw columns arrive as text (see the source definitions); `_source_file` names the file
    and `_source_row` the line in it (the header is line 1, so the first record is line 2; for
    Parquet it is the 1-based row number), so every rule can point at the exact record.
    WITH ORDINALITY numbers the rows in file order even when DuckDB reads the file in parallel
    (a window function without ORDER BY does not: measured, it reorders rows). A table's files
    are its base file and its deliveries' files (`<folder>/deliveries/<batch>/`, var `sources`);
    across several files the numbering runs on, so each file's first ordinal is subtracted.
-#}
{#- The format of a source's files comes from its registry entry (var `sources`, finkpi/sources/). -#}
{% macro raw_source(source_name, table_name) -%}
    {{ return(adapter.dispatch('raw_source', 'finkpi')(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__raw_source(source_name, table_name) -%}
    {%- set header_lines = 1 if source_raw_format(source_name) == 'csv' else 0 -%}
    select
        raw.* exclude (filename, ordinality),
        raw.filename as _source_file,
        raw.ordinality - min(raw.ordinality) over (partition by raw.filename)
        + 1 + {{ header_lines }} as _source_row
    from (select * from {{ source(source_name, table_name) }} with ordinality) as raw
{%- endmacro %}


{#- Spark: the raw files were loaded as tables with their position by `load_raw_sources`. -#}
{% macro spark__raw_source(source_name, table_name) -%}
    {#- quoted: some raw names are SQL keywords in Spark (crm.Case) -#}
    select * from {{ source(source_name, table_name).quote(schema=true, identifier=true) }}
{%- endmacro %}


{#-
    Spark only (on-run-start): every source table becomes a Spark table `<source>.<table>` with
    the file's columns as text plus `_source_file` and `_source_row`, equal to DuckDB's:

    - CSV is read with multiLine (quoted line breaks kept, as DuckDB does), which also makes a
      file unsplittable: one file is one partition, read from its first byte to its last, so
      monotonically_increasing_id() grows in file order and row_number() over it, per file, is
      the record's position; + 1 for the header line.
    - Parquet has the row's own position in the file (`_metadata.row_index`, 0-based).
    - `_source_file` is the path without Spark's `file:` scheme, as DuckDB names it.
    - Each source's folder and format come from its registry entry (var `sources`); its files
      are named by the table's identifier (SAP: salesOrder.csv): the base file and the files of
      its deliveries (`deliveries/<batch>/`), read as one glob; each keeps its own
      `_source_file` and `_source_row` (not run in this repository's tests).

    The tables are copies (Parquet, in the Spark warehouse), rewritten on every run, so a
    staging view never reads a file that changed under it. DuckDB reads the files directly
    (external sources) and does nothing here.
-#}
{% macro load_raw_sources() -%}
    {{ return(adapter.dispatch('load_raw_sources', 'finkpi')()) }}
{%- endmacro %}

{% macro duckdb__load_raw_sources() -%}
{%- endmacro %}

{% macro spark__load_raw_sources() -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.package_name == project_name -%}
            {%- set raw_format = source_raw_format(node.source_name) -%}
            {#- the base file and its deliveries, as one Hadoop glob `{base,deliveries/*/file}` -#}
            {%- set path = '{' ~ (registered_source(node.source_name)['file_patterns'] | join(','))
                .replace('{identifier}', node.identifier) ~ '}' -%}
            {%- set file_view = node.source_name ~ '__' ~ node.name ~ '__file' -%}
            {%- call statement('schema_' ~ file_view) -%}
                create schema if not exists {{ node.schema }}
            {%- endcall -%}
            {%- call statement('view_' ~ file_view) -%}
                create or replace temporary view {{ file_view }}
                using {{ raw_format }}
                options (
                    path '{{ path }}'
                    {%- if raw_format == 'csv' %},
                    header 'true', multiLine 'true', sep ',', quote '"', escape '"',
                    mode 'FAILFAST', encoding 'UTF-8'
                    {%- endif %}
                )
            {%- endcall -%}
            {%- call statement('drop_' ~ file_view) -%}
                drop table if exists {{ node.schema }}.{{ adapter.quote(node.identifier) }}
            {%- endcall -%}
            {%- call statement('load_' ~ file_view) -%}
                create table {{ node.schema }}.{{ adapter.quote(node.identifier) }} using parquet as
                {%- if raw_format == 'csv' %}
                select
                    {{ star_except(['_file_position']) }},
                    cast(
                        row_number() over (partition by _source_file order by _file_position) + 1
                        as bigint
                    ) as _source_row
                from (
                    select
                        *,
                        regexp_replace(input_file_name(), '^file:(//)?', '') as _source_file,
                        monotonically_increasing_id() as _file_position
                    from {{ file_view }}
                ) as raw
                {%- else %}
                select
                    *,
                    regexp_replace(_metadata.file_path, '^file:(//)?', '') as _source_file,
                    _metadata.row_index + 1 as _source_row
                from {{ file_view }}
                {%- endif %}
            {%- endcall -%}
            {%- call statement('forget_' ~ file_view) -%}
                drop view if exists {{ file_view }}
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

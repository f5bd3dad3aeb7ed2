{#-
    Reads one raw extract with its position: every staging model starts here.

    The raw columns arrive as text (see the source definitions); `_source_file` names the file
    and `_source_row` the line in it (the header is line 1, so the first record is line 2; for
    Parquet it is the 1-based row number), so every rule can point at the exact record.
    WITH ORDINALITY numbers the rows in file order even when DuckDB reads the file in parallel
    (a window function without ORDER BY does not: measured, it reorders rows). A table's files
    are its base file and its deliveries' files (`<folder>/deliveries/<batch>/`, var `sources`);
    across several files the numbering runs on, so each file's first ordinal is subtracted.

    A table whose deliveries bring new records only (SourceTable.appends, var `sources` ->
    `appends`) has an incremental staging model on DuckDB (README, "Incremental runs"): a full
    run builds it from every file, as any table; an incremental run appends the rows of the
    files not loaded yet (not among its `_source_file`s) and reads no file loaded before. The
    files already loaded never change (a run where one did is a full run, finkpi/incremental.py).
-#}
{#- The format of a source's files comes from its registry entry (var `sources`, finkpi/sources/). -#}
{% macro raw_source(source_name, table_name) -%}
    {%- do append_only_staging(source_name, table_name) -%}
    {{ return(adapter.dispatch('raw_source', 'finkpi')(source_name, table_name)) }}
{%- endmacro %}

{#- The config of an appending table's staging model, set here so that the registry decides it,
    not 20 copies of a config block: incremental on DuckDB, a table on Spark (its raw tables are
    copies rewritten every run). Append: a file is the unit loaded, once; the keys are checked by
    the staging model's data tests, over the whole table. A changed model (a new or retyped
    column) fails the incremental run instead of appending rows of another shape: run in full. -#}
{% macro append_only_staging(source_name, table_name) -%}
    {%- if table_name in registered_source(source_name).get('appends', []) -%}
        {%- do config(
            materialized='incremental' if target.type == 'duckdb' else 'table',
            incremental_strategy='append',
            on_schema_change='fail'
        ) -%}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__raw_source(source_name, table_name) -%}
    {%- set header_lines = 1 if source_raw_format(source_name) == 'csv' else 0 -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set new_files = files_not_loaded(source_name, relation.identifier) if is_incremental() else none -%}
    select
        raw.* exclude (filename, ordinality),
        raw.filename as _source_file,
        raw.ordinality - min(raw.ordinality) over (partition by raw.filename)
        + 1 + {{ header_lines }} as _source_row
    {%- if new_files is none %}
    from (select * from {{ relation }} with ordinality) as raw
    {%- elif new_files %}
    {#- only the new files: the same reader over another file list #}
    from (select * from {{ raw_reader(source_name, new_files) }} with ordinality) as raw
    {%- else %}
    {#- no new file: nothing to append; the reader binds (DuckDB reads the first file's header
        for the columns) but no row is read #}
    from (select * from {{ relation }} with ordinality) as raw
    where false
    {%- endif %}
{%- endmacro %}

{#- How DuckDB reads a list of a source's files (var `raw_readers`, the one home of the reader
    options; the source definitions read every file of a table with it). -#}
{% macro raw_reader(source_name, files) -%}
    {%- set quoted = [] -%}
    {%- for file in files -%}
        {%- do quoted.append(sql_text(file)) -%}
    {%- endfor -%}
    {{ var('raw_readers')[source_raw_format(source_name)] | replace('{files}', '[' ~ quoted | join(', ') ~ ']') }}
{%- endmacro %}

{#- The files of a table (its base file and deliveries, the patterns of var `sources`) that the
    incremental model `this` has not loaded yet, in name order (batches are ISO dates). Asked at
    run time: a file that lands between two runs is new to the second. -#}
{% macro files_not_loaded(source_name, identifier) -%}
    {%- set patterns = registered_source(source_name).get('file_patterns') -%}
    {%- if not patterns -%}
        {{ exceptions.raise_compiler_error(
            "incremental " ~ this ~ ": var sources has no file_patterns for source '" ~ source_name
            ~ "' (run it through finkpi, which passes them from the registry)"
        ) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for pattern in patterns -%}
        {%- do found.append(
            'select file from glob(' ~ sql_text(pattern | replace('{identifier}', identifier)) ~ ')'
        ) -%}
    {%- endfor -%}
    {%- set query -%}
        select file from (
            ({{ found | join(' union ') }})
            except
            select _source_file from {{ this }}
        ) as new_files
        order by file
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
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

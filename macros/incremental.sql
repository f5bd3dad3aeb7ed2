{#-
    Incremental facts by date (README, "Incremental runs").

    The largest facts (GL lines, invoice lines, sales order lines) are `incremental` models keyed
    by one business date column. A full run (`finkpi run`, dbt's --full-refresh) rebuilds them
    whole; an incremental run (`finkpi run --incremental`) recomputes only a window of recent
    days and replaces that window in the table:

    - the window starts at var `incremental_start` (a date) if given, else at the newest date
      already in the table minus var `incremental_lookback_days` (late rows of the last days are
      picked up);
    - on DuckDB the custom strategy `date_window` below deletes every row of the window and
      inserts the window again, so a row that left the window (quarantined now, deleted in the
      extract) leaves the table too; on Spark the models use `insert_overwrite` partitioned by
      the same column (dynamic partition overwrite replaces the days present in the new rows).

    Rows older than the window are not recomputed: a change to them (a late row older than the
    lookback, an order whose status changes, a new exchange rate for an old day) needs a full
    run. The models filter with `where <column> >= incremental_window_start(...)` only inside
    `is_incremental()`.

    The month-end snapshots (macros/balance_snapshots.sql) are `date_window` models too, keyed by
    `snapshot_month` with config `incremental_window_grain='month'`: their window starts at the
    first day of the month that contains the window's first day, so an incremental run recomputes
    that month's snapshots and every later one (from the full history of movements) and keeps the
    earlier months. On Spark they stay tables.
-#}

{#-
    The first day of the window an incremental run recomputes (a SQL expression). `grain`
    (default: the model's config `incremental_window_grain`, else 'day') 'month' rounds it down
    to the first day of its month, for models with one row per month.
-#}
{% macro incremental_window_start(date_column, grain=none) -%}
    {%- set grain = grain or config.get('incremental_window_grain', 'day') -%}
    {%- set start = run_incremental_start() -%}
    {%- if start -%}
        {%- set first_day = "cast('" ~ start ~ "' as date)" -%}
    {%- else -%}
        {%- set first_day = 'cast(' ~ dbt.dateadd(
            'day',
            -1 * (var('incremental_lookback_days', 3) | int),
            '(select max(' ~ date_column ~ ') from ' ~ this ~ ')'
        ) ~ ' as date)' -%}
    {%- endif -%}
    {%- if grain == 'month' -%}
        {{ month_start(first_day) }}
    {%- elif grain == 'day' -%}
        {{ first_day }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "incremental_window_grain must be 'day' or 'month', not '" ~ grain ~ "'"
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- The window's first day as finkpi passes it for the run (FINKPI_RUN_INCREMENTAL_START, an
    environment variable, not a var: macros/time.sql, run_as_of_date), else var incremental_start,
    else none. -#}
{% macro run_incremental_start() -%}
    {{ return(run_date_env('FINKPI_RUN_INCREMENTAL_START') or var('incremental_start', none)) }}
{%- endmacro %}

{#- The incremental filter of a model: rows of the window only, in an incremental run. -#}
{% macro incremental_window_filter(date_column) -%}
    {%- if is_incremental() %}
    where {{ incremental_window_condition(date_column) }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of the window: dated from its first day on, or-ed with the model's config
    `incremental_recompute_also` (a condition on its columns: the rows every incremental run
    recomputes whatever their date, e.g. a line not delivered yet). -#}
{% macro incremental_window_condition(date_column) -%}
    {%- set also = config.get('incremental_recompute_also') -%}
    {%- set in_window = date_column ~ ' >= ' ~ incremental_window_start(date_column) -%}
    {{ '(' ~ in_window ~ ' or ' ~ also ~ ')' if also else in_window }}
{%- endmacro %}

{#-
    Custom incremental strategy `date_window` (dbt looks it up as get_incremental_<name>_sql):
    replace the window, i.e. delete the target's rows from the window's first day on, then insert
    the freshly built window. The window start is evaluated against the target before the delete,
    the same expression (at the model's `incremental_window_grain`) the model's filter used, so
    the two agree. Rows with a NULL date are never in a window (a full run rebuilds them), unless
    the model's `incremental_recompute_also` takes them in.
-#}
{% macro get_incremental_date_window_sql(arg_dict) -%}
    {%- set date_column = config.get('incremental_date_column') -%}
    {%- if not date_column -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'date_window' needs the config incremental_date_column"
        ) }}
    {%- endif -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ incremental_window_condition(date_column) }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#-
    Data tests in an incremental run (dbt wraps every generic test's model in get_where_subquery).

    A full run tests every row. An incremental run recomputes only the window of the models that
    are incremental by date (their config `incremental_date_column`); the rows before it are
    the rows a full run tested already, and the run is incremental only if none of its inputs
    changed (finkpi/incremental.py). So the row-by-row checks of such a model (not_null,
    accepted_values, relationships: a row passes or fails on its own) test the window alone,
    `<date column> >= incremental_start` (a month-end snapshot: from the first day of that
    month, `incremental_window_grain`). Checks across rows stay global: a key must be unique
    across the whole table (a new row may repeat an old key), and a roll-forward reads the month
    before the window. A test's own `where` config still applies (and-ed with the window).
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window = incremental_test_window() -%}
    {%- if window -%}
        {%- do conditions.append(window) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The window a data test checks in an incremental run (a SQL condition), or '' (every row). -#}
{% macro incremental_test_window() -%}
    {%- set row_by_row = ['not_null', 'accepted_values', 'relationships'] -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set start = run_incremental_start() -%}
    {%- if not start -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set metadata = model.get('test_metadata') or {} -%}
    {%- if metadata.get('name') not in row_by_row -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {%- set date_column = tested.config.get('incremental_date_column') if tested else none -%}
    {%- if not date_column or tested.config.get('materialized') != 'incremental' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set first_day = "cast('" ~ start ~ "' as date)" -%}
    {%- if tested.config.get('incremental_window_grain') == 'month' -%}
        {#- a snapshot model recomputes the whole month of the window's first day -#}
        {%- set first_day = month_start(first_day) -%}
    {%- endif -%}
    {%- set also = tested.config.get('incremental_recompute_also') -%}
    {%- set in_window = date_column ~ " >= " ~ first_day -%}
    {%- do return('(' ~ in_window ~ ' or ' ~ also ~ ')' if also else in_window) -%}
{%- endmacro %}


{#- The config of a model incremental by one business date: the window replaced (`date_window`) on
    DuckDB, the days present in it overwritten (`insert_overwrite`, partitioned by the column) on
    Spark. `recompute_also`: a condition on the model's columns for rows recomputed in every
    incremental run, whatever their date (README, "Incremental runs"). -#}
{% macro incremental_by_date(date_column, recompute_also=none) -%}
    {%- do config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'date_window'),
        incremental_date_column=date_column,
        incremental_recompute_also=recompute_also,
        partition_by=([date_column] if target.type == 'spark' else none),
        on_schema_change='fail'
    ) -%}
{%- endmacro %}

{#- The config of a month-end snapshot: incremental by its month on DuckDB (the window's month and
    every later one replaced), a table rebuilt whole on Spark. -#}
{% macro incremental_by_month(month_column) -%}
    {%- do config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy=(none if target.type == 'spark' else 'date_window'),
        incremental_date_column=month_column,
        incremental_window_grain='month',
        on_schema_change='fail'
    ) -%}
{%- endmacro %}

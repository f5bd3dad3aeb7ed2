with

source as (

    {{ raw_source('erp', 'exchange_rates') }}

),

renamed as (

    select
        -- attributes
        nullif(trim(from_currency), '') as from_currency,
        nullif(trim(to_currency), '') as to_currency,
        -- amounts
        cast(nullif(trim(rate), '') as decimal(18,8)) as rate,
        -- dates
        cast(nullif(trim(rate_date), '') as date) as rate_date,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

),

-- row-level rules (expectations/rules.yml): a rate is reference data, so a rate that is not a
-- rate stops the run (severity fail, via quarantine.rule_violations) instead of flipping or
-- zeroing every amount converted with it
flagged as (

    select
        *,
        {{ rule_failures([
            rule('non_positive_exchange_rate', 'rate is null or rate <= 0'),
        ]) }} as _rule_failures
    from renamed

)

select
    *,
    {{ is_quarantined('_rule_failures') }} as _quarantined
from flagged

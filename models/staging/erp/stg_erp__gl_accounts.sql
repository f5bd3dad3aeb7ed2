with

source as (

    {{ raw_source('erp', 'gl_accounts') }}

),

renamed as (

    select
        -- ids
        nullif(trim(account_id), '') as account_id,
        -- attributes
        nullif(trim(account_name), '') as account_name,
        nullif(trim(account_type), '') as account_type,
        nullif(trim(account_group), '') as account_group,
        nullif(trim(cash_flow_category), '') as cash_flow_category,
        -- flags
        cast(nullif(trim(is_control_account), '') as boolean) as is_control_account,
        -- lineage
        'erp' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed

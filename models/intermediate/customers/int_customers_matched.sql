-- Customer identity across ERP and CRM, one row per CRM account. Sales types the ERP customer
-- number into the CRM by hand: often right, sometimes written differently, often missing. Each
-- account is matched by the first rule that finds exactly one ERP customer:
--   1. erp_number_exact:      the typed number equals the ERP customer id
--   2. erp_number_normalized: same number once case, spaces, dashes and leading zeros are ignored
--   3. name_normalized:       no number matches, but the company name (letters and digits only)
--                             equals exactly one ERP customer's name
-- otherwise `unmatched` (a prospect, or a customer the CRM cannot tie to the ERP).

with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

customers as (

    select
        customer_id,
        {{ identifier_number('customer_id') }} as id_number,
        {{ identifier_prefix('customer_id') }} as id_prefix,
        {{ company_name_key('customer_name') }} as name_key
    from {{ ref('stg_erp__customers') }}

),

unique_names as (

    select name_key, min(customer_id) as customer_id
    from customers
    group by name_key
    having count(*) = 1

),

candidates as (

    select
        accounts.crm_account_id,
        exact.customer_id as exact_customer_id,
        normalized.customer_id as normalized_customer_id,
        by_name.customer_id as name_customer_id
    from accounts
    left join customers as exact
        on trim(accounts.erp_customer_number_raw) = exact.customer_id
    left join customers as normalized
        on {{ identifier_number('accounts.erp_customer_number_raw') }} = normalized.id_number
        and {{ identifier_prefix('accounts.erp_customer_number_raw') }}
        in ('', normalized.id_prefix)
    left join unique_names as by_name
        on {{ company_name_key('accounts.account_name') }} = by_name.name_key

),

final as (

    select
        accounts.crm_account_id,
        coalesce(
            candidates.exact_customer_id,
            candidates.normalized_customer_id,
            candidates.name_customer_id
        ) as customer_id,
        coalesce(
            candidates.exact_customer_id,
            candidates.normalized_customer_id,
            candidates.name_customer_id,
            'CRM-' || accounts.crm_account_id
        ) as customer_key,
        case
            when candidates.exact_customer_id is not null then 'erp_number_exact'
            when candidates.normalized_customer_id is not null then 'erp_number_normalized'
            when candidates.name_customer_id is not null then 'name_normalized'
            else 'unmatched'
        end as match_method,
        accounts.erp_customer_number_raw,
        accounts.account_name,
        accounts.account_type,
        accounts.billing_country,
        accounts.industry,
        accounts.created_at_utc,
        accounts.company_code
    from accounts
    inner join candidates
        on accounts.crm_account_id = candidates.crm_account_id

)

select * from final

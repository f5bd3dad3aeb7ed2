-- One row per customer across ERP and CRM. ERP customers carry their master data and, where the
-- CRM account could be tied to them, that account (the best match; see int_customers_matched).
-- CRM accounts that match no ERP customer (prospects, or ties the data cannot make) are kept as
-- customers of their own with key 'CRM-<account id>', so CRM facts never lose their customer.
--
-- New customer (metric new_customers): a customer is new on the day of its first invoice, when
-- that invoice is provably its first ever, i.e. the customer master was created on or after the
-- start of its company's invoice history in the extract: the first day of the month of its
-- earliest accepted invoice (the extract's first period; the extract holds whole months). A
-- customer created before that may have been invoiced before the extract begins: it is an
-- existing customer (active, never new), and so is one without a creation date.

with

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

matched as (

    select * from {{ ref('int_customers_matched') }}

),

-- accepted invoices only: a quarantined one is not in the marts
invoices as (

    select
        customer_id,
        company_code,
        invoice_date
    from ({{ accepted('int_invoices_validated') }}) as accepted_invoices
    where invoice_date <= {{ as_of_date() }}

),

first_invoices as (

    select
        customer_id,
        min(invoice_date) as first_invoice_date
    from invoices
    group by customer_id

),

-- where each company's invoice history in the extract starts (the first day of the month of its
-- earliest invoice): an invoice before it is not in the extract
invoice_history as (

    select
        company_code,
        {{ month_start('min(invoice_date)') }} as invoice_history_start
    from invoices
    group by company_code

),

best_account as (

    select *
    from matched
    where customer_id is not null
    qualify row_number() over (
        partition by customer_id
        order by
            case match_method
                when 'erp_number_exact' then 1
                when 'erp_number_normalized' then 2
                else 3
            end,
            created_at_utc,
            crm_account_id
    ) = 1

),

erp_customers as (

    select
        customers.customer_id as customer_key,
        customers.customer_id,
        best_account.crm_account_id,
        customers.customer_name,
        customers.country,
        customers.region,
        customers.segment as customer_segment,
        customers.currency,
        customers.payment_terms_days,
        coalesce(best_account.match_method, 'erp_only') as match_method,
        customers.company_code,
        'erp' as source_system,
        customers.created_date,
        first_invoices.first_invoice_date,
        case
            when customers.created_date >= invoice_history.invoice_history_start
                then first_invoices.first_invoice_date
        end as new_customer_date
    from customers
    left join best_account
        on customers.customer_id = best_account.customer_id
    left join first_invoices
        on customers.customer_id = first_invoices.customer_id
    left join invoice_history
        on customers.company_code = invoice_history.company_code

),

crm_only as (

    select
        customer_key,
        null as customer_id,
        crm_account_id,
        account_name as customer_name,
        billing_country as country,
        null as region,
        null as customer_segment,
        null as currency,
        null as payment_terms_days,
        'crm_only' as match_method,
        company_code,  -- the CRM's own company
        'crm' as source_system,
        cast(created_at_utc as date) as created_date,
        null as first_invoice_date,
        null as new_customer_date
    from matched
    where customer_id is null

),

-- the SAP source: business partners with the customer role or on a sales order (SAP has no CRM
-- here, no segment and no payment terms; region is SAP's own: EMEA, AMER, APJ, AFR)
sap_customers as (

    select
        partners.partner_id as customer_key,
        partners.partner_id as customer_id,
        null as crm_account_id,
        partners.partner_name as customer_name,
        partners.country,
        partners.region,
        null as customer_segment,
        partners.currency,
        null as payment_terms_days,
        'erp_only' as match_method,
        company.company_code,
        partners.source_system,
        partners.created_date,
        null as first_invoice_date,
        null as new_customer_date
    from {{ ref('int_sap_business_partners_decoded') }} as partners
    cross join {{ ref('sap_company_codes') }} as company
    where partners.is_customer
        or partners.partner_id in (
            select sap_orders.customer_id
            from {{ ref('int_sap_sales_orders_validated') }} as sap_orders
        )

),

final as (

    select * from erp_customers
    union all
    select * from crm_only
    union all
    select * from sap_customers

)

select
    cast(customer_key as {{ dbt.type_string() }}) as customer_key,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(crm_account_id as {{ dbt.type_string() }}) as crm_account_id,
    cast(customer_name as {{ dbt.type_string() }}) as customer_name,
    cast(country as {{ dbt.type_string() }}) as country,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(customer_segment as {{ dbt.type_string() }}) as customer_segment,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(payment_terms_days as integer) as payment_terms_days,
    cast(match_method as {{ dbt.type_string() }}) as match_method,
    cast(company_code as {{ dbt.type_string() }}) as company_code,
    cast(source_system as {{ dbt.type_string() }}) as source_system,
    cast(created_date as date) as created_date,
    cast(first_invoice_date as date) as first_invoice_date,
    cast(new_customer_date as date) as new_customer_date
from final

-- Suppliers as the ERPs know them: the sample's, and SAP's business partners with the supplier
-- role or a purchase order (in the SAP extract every purchase order names a partner whose role
-- is customer: rule sap_partner_role_mismatch counts them; the partner is the supplier all the
-- same).

with

erp_suppliers as (

    select
        -- ids
        supplier_id,
        company_code,
        source_system,
        -- attributes
        supplier_name,
        country,
        currency,
        category as supplier_category,
        payment_terms_days
    from {{ ref('stg_erp__suppliers') }}

),

sap_suppliers as (

    select
        -- ids
        partners.partner_id as supplier_id,
        company.company_code,
        partners.source_system,
        -- attributes
        partners.partner_name as supplier_name,
        partners.country,
        partners.currency,
        cast(null as {{ dbt.type_string() }}) as supplier_category,
        cast(null as integer) as payment_terms_days
    from {{ ref('int_sap_business_partners_decoded') }} as partners
    cross join {{ ref('sap_company_codes') }} as company
    where partners.is_supplier
        or partners.partner_id in (
            select sap_orders.supplier_id
            from {{ ref('int_sap_purchase_orders_validated') }} as sap_orders
        )

)

select * from erp_suppliers
union all
select * from sap_suppliers

-- SAP employees (who created and changed documents). SALARYAMOUNT, ACCOUNTNUMBER, BANKID and
-- BANKNAME are deliberately not selected: they never leave the raw file (README, SAP source);
-- names and contact data are not needed downstream either.

with

source as (

    {{ raw_source('sap', 'employees') }}

),

renamed as (

    select
        -- ids
        {{ sap_text('EMPLOYEEID') }} as employee_id,
        {{ sap_text('LOGINNAME') }} as login_name,
        -- attributes
        {{ sap_text('LANGUAGE') }} as language,
        -- dates
        {{ sap_typed('VALIDITY.STARTDATE', 'date') }} as valid_from,
        {{ sap_typed('VALIDITY.ENDDATE', 'date') }} as valid_to,
        -- lineage
        'sap' as source_system,
        _source_file,
        _source_row

    from source

)

select * from renamed

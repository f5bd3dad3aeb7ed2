{#- A company name reduced to what survives retyping: lower case letters and digits only
    ("Müller GmbH", "MÜLLER Gmbh." and "müller gmbh" give one key). -#}
{% macro company_name_key(name) -%}
    {{ regexp_replace_all("lower(coalesce(" ~ name ~ ", ''))", "'[^a-z0-9äöüß]'", "''") }}
{%- endmacro %}

{#- The number inside a customer identifier ("C000123", "c-000123", " 123" all give 123). -#}
{% macro identifier_number(identifier) -%}
    try_cast(regexp_extract(coalesce({{ identifier }}, ''), '([0-9]+)', 1) as bigint)
{%- endmacro %}

{#- The letters of an identifier, upper case ("c-000123" gives "C", "123" gives ""). -#}
{% macro identifier_prefix(identifier) -%}
    upper({{ regexp_replace_all("coalesce(" ~ identifier ~ ", '')", "'[^A-Za-z]'", "''") }})
{%- endmacro %}

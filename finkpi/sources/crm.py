"""The sample company's CRM (`<data_dir>/crm/`): its raw-file contract and registry entry.

Columns are named the way a Salesforce-style CRM exports them. Timestamps are ISO-8601 with the
UTC offset of the record's time zone (`2024-03-05T14:22:00+01:00`), the IANA zone itself in
`TimeZoneSidKey`. Amounts are plain decimals in the record's `CurrencyIsoCode`.

The CRM belongs to one company (its rows carry no company code): the sample company DE01. It
reports on the group's business day (no as-of date of its own) and converts with the group's
rates.
"""

from __future__ import annotations

from finkpi.sources.registry import Company, SourceSystem, tables_from_contract

# The values the CRM's picklists may hold (the generator, finkpi/generate/crm.py, draws from these):
# a record with another value is quarantined by its validated model (expectations/rules.yml).
STAGE_NAMES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
CASE_PRIORITIES = ("Low", "Medium", "High")
CASE_STATUSES = ("New", "Working", "Closed")
VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "Opportunity": {"StageName": STAGE_NAMES},
    "Case": {"Priority": CASE_PRIORITIES, "Status": CASE_STATUSES},
}

# table -> list of (column, type, description). Types are DuckDB types used by staging casts.
CONTRACT: dict[str, list[tuple[str, str, str]]] = {
    "Account": [
        ("Id", "varchar", "18-character record id"),
        ("Name", "varchar", "account name"),
        (
            "ERP_Customer_Number__c",
            "varchar",
            "ERP customer number as typed by sales: often missing, not always written like the ERP",
        ),
        ("BillingCountry", "varchar", "country name"),
        ("Industry", "varchar", "industry"),
        ("Type", "varchar", "Customer | Prospect | Partner"),
        ("CreatedDate", "timestamp with time zone", "record created"),
    ],
    "Contact": [
        ("Id", "varchar", "record id"),
        ("AccountId", "varchar", "account"),
        ("FirstName", "varchar", "personal data"),
        ("LastName", "varchar", "personal data"),
        ("Email", "varchar", "personal data"),
        ("Phone", "varchar", "personal data"),
        ("Title", "varchar", "job title"),
        ("CreatedDate", "timestamp with time zone", "record created"),
    ],
    "Lead": [
        ("Id", "varchar", "record id"),
        ("FirstName", "varchar", "personal data"),
        ("LastName", "varchar", "personal data"),
        ("Company", "varchar", "company name given"),
        ("Email", "varchar", "personal data"),
        ("Phone", "varchar", "personal data"),
        ("Status", "varchar", "Open | Working | Qualified | Unqualified | Converted"),
        ("LeadSource", "varchar", "Web | Trade Show | Referral | Partner"),
        ("IsConverted", "boolean", "true/false"),
        ("ConvertedAccountId", "varchar", "account created on conversion"),
        ("CreatedDate", "timestamp with time zone", "record created"),
    ],
    "Opportunity": [
        ("Id", "varchar", "record id"),
        ("AccountId", "varchar", "account"),
        ("Name", "varchar", "opportunity name"),
        ("StageName", "varchar", " | ".join(STAGE_NAMES)),
        ("Amount", "decimal(18,2)", "expected amount in CurrencyIsoCode"),
        ("CurrencyIsoCode", "varchar", "currency"),
        ("Probability", "decimal(9,2)", "stage probability in percent"),
        ("IsClosed", "boolean", "true/false"),
        ("IsWon", "boolean", "true/false"),
        ("CreatedDate", "timestamp with time zone", "record created"),
        ("CloseDate", "date", "expected or actual close date"),
    ],
    "Case": [
        ("Id", "varchar", "record id"),
        ("CaseNumber", "varchar", "human-readable number"),
        ("AccountId", "varchar", "account"),
        ("ContactId", "varchar", "contact who raised it"),
        ("Type", "varchar", "Complaint | Service Request | Question"),
        ("Reason", "varchar", "Late delivery | Damaged goods | Wrong item | Invoice query | Other"),
        ("Priority", "varchar", " | ".join(CASE_PRIORITIES)),
        ("Status", "varchar", " | ".join(CASE_STATUSES)),
        ("Origin", "varchar", "Email | Phone | Web"),
        ("ERP_Order_Number__c", "varchar", "sales order concerned, when known"),
        ("TimeZoneSidKey", "varchar", "IANA time zone of the service desk that logged the case"),
        ("CreatedDate", "timestamp with time zone", "case opened"),
        ("First_Response_Date__c", "timestamp with time zone", "first response; empty if none yet"),
        ("ClosedDate", "timestamp with time zone", "resolved; empty if still open"),
    ],
}

KEYS: dict[str, tuple[str, ...]] = {table: ("Id",) for table in CONTRACT}
# A delivery brings the records created since the last one (SourceTable.appends), dated by their
# creation: a CRM export that restates an edited record (an opportunity's new stage) is delivered
# as a full extract.
APPENDS = {table: "CreatedDate" for table in CONTRACT}

SOURCE = SourceSystem(
    name="crm",
    kind="crm",
    description="the sample company's CRM: accounts, contacts, leads, opportunities and service cases",
    tables=tables_from_contract(CONTRACT, KEYS, appends=APPENDS, values=VALUES),
    company=Company("DE01"),  # the sample company, in the ERP's company master
)

-- staging.placements: Creditor file: one row per placed invoice, with the case, the debtor and
-- contact points.
--
-- One row per raw.placements row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount,
--   negative_amount, bad_date, bad_currency, bad_value, date_after_received, duplicate_row,
--   conflicting_duplicate.
-- Natural key (creditor_ref, case_ref, invoice_ref): among otherwise valid rows the earliest
-- (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all its typed
-- canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Defaults when empty: country = 'FR'.
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.
-- Phones become E.164 with the file's phone_region (pipelines/normalise.py, once per
-- distinct number); an invalid number is NULL and the row is kept.
-- The country is upper-cased.

with

files as (
    select
        file_id,
        source_file,
        received_date,
        coalesce(decimal_mark, '.') as decimal_mark,
        coalesce(thousands_sep, '') as thousands_sep,
        date_format,
        coalesce(upper(clean_text(phone_region)), default_phone_region()) as phone_region,
        coalesce(upper(clean_text(currency)), default_currency()) as file_currency
    from raw.files
),

-- read three times (the distinct phones of two columns, then every row): not materialised, as
-- a copy of every source row costs more than reading the raw columns again
source as not materialized (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.invoice_ref) as invoice_ref,
        clean_text(r.creditor_name) as creditor_name,
        clean_enum(r.creditor_sector) as creditor_sector,
        clean_text(r.debtor_ref) as debtor_ref,
        clean_text(r.debtor_key) as debtor_key,
        clean_enum(r.debtor_type) as debtor_type,
        clean_text(r.debtor_name) as debtor_name,
        clean_text(r.placed_date) as placed_date_text,
        clean_text(r.invoice_date) as invoice_date_text,
        clean_text(r.due_date) as due_date_text,
        clean_text(r.amount) as amount_text,
        clean_text(r.title_date) as title_date_text,
        clean_text(r.arrears_status) as arrears_status,
        clean_text(r.phone) as phone_text,
        clean_text(r.phone_2) as phone_2_text,
        clean_email(r.email) as email,
        clean_text(r.address_line) as address_line,
        clean_text(r.postcode) as postcode,
        clean_text(r.city) as city,
        coalesce(upper(clean_text(r.country)), 'FR') as country,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format,
        f.phone_region
    from raw.placements as r
    left join files as f using (file_id)
),

-- distinct numbers only: e164() checks a French number against phonenumbers'
-- patterns in SQL and hands any other to Python (pipelines/normalise.py)
phone_numbers as (
    select distinct phone_text, phone_region from source
    where phone_text is not null
    union
    select distinct phone_2_text as phone_text, phone_region from source
    where phone_2_text is not null
),

phones as (
    select phone_text, phone_region, e164(phone_text, phone_region) as e164
    from phone_numbers
),

typed as (
    select
        s.*,
        parse_date(s.placed_date_text, s.date_format) as placed_date,
        parse_date(s.invoice_date_text, s.date_format) as invoice_date,
        parse_date(s.due_date_text, s.date_format) as due_date,
        parse_cents(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_cents,
        money_error(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_error,
        parse_date(s.title_date_text, s.date_format) as title_date,
        p_phone.e164 as phone,
        p_phone_2.e164 as phone_2
    from source as s
    left join phones as p_phone
        on p_phone.phone_text = s.phone_text and p_phone.phone_region = s.phone_region
    left join phones as p_phone_2
        on p_phone_2.phone_text = s.phone_2_text and p_phone_2.phone_region = s.phone_region
),

checked as (
    select
        t.*,
        case
            when t.reader_error is not null
                then 'malformed_row'
            when t.creditor_ref is null
                or t.case_ref is null
                or t.invoice_ref is null
                or t.debtor_ref is null
                or t.debtor_type is null
                or t.debtor_name is null
                or t.placed_date_text is null
                or t.due_date_text is null
                or t.amount_text is null
                then 'missing_required'
            when is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.invoice_ref)
                or is_scientific(t.debtor_ref)
                or is_scientific(t.debtor_key)
                or is_scientific(t.phone_text)
                or is_scientific(t.phone_2_text)
                or is_scientific(t.postcode)
                then 'scientific_notation'
            when t.amount_error is not null
                then t.amount_error
            when t.amount_cents <= 0
                then 'negative_amount'
            when (t.placed_date is null and t.placed_date_text is not null)
                or (t.invoice_date is null and t.invoice_date_text is not null)
                or (t.due_date is null and t.due_date_text is not null)
                or (t.title_date is null and t.title_date_text is not null)
                then 'bad_date'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.creditor_sector not in (
                    'telecom', 'energy', 'consumer_credit', 'b2b_wholesale', 'b2b_services',
                    'other'
                )
                or t.debtor_type not in ('individual', 'business')
                then 'bad_value'
            when t.placed_date > t.received_date
                or t.invoice_date > t.received_date
                then 'date_after_received'
        end as failed_check
    from typed as t
),

final as (
    select
        file_id,
        source_row,
        source_file,
        received_date,
        creditor_ref,
        case_ref,
        invoice_ref,
        creditor_name,
        creditor_sector,
        debtor_ref,
        debtor_key,
        debtor_type,
        debtor_name,
        placed_date,
        invoice_date,
        due_date,
        amount_cents,
        currency,
        title_date,
        arrears_status,
        phone,
        phone_2,
        email,
        address_line,
        postcode,
        city,
        country,
        failed_check as reject_reason
    from checked
)

select * from final

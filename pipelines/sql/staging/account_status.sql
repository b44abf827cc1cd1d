-- staging.account_status: Creditor file: monthly account status (balance, amount paid, arrears
-- status code).
--
-- One row per raw.account_status row: lineage (file_id, source_row, source_file, received_date),
-- the canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the
-- first failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount, bad_date,
--   bad_number, bad_currency, date_after_received, unknown_case, duplicate_row,
--   conflicting_duplicate.
-- Natural key (creditor_ref, case_ref, status_month): among otherwise valid rows the earliest
-- (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all its typed
-- canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.

with

files as (
    select
        file_id,
        source_file,
        received_date,
        coalesce(decimal_mark, '.') as decimal_mark,
        coalesce(thousands_sep, '') as thousands_sep,
        date_format,
        coalesce(upper(clean_text(currency)), default_currency()) as file_currency
    from raw.files
),

source as (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.status_month) as status_month_text,
        clean_text(r.status_code) as status_code_text,
        clean_text(r.balance) as balance_text,
        clean_text(r.paid_amount) as paid_amount_text,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.account_status as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_month(s.status_month_text, s.date_format) as status_month,
        parse_int(s.status_code_text, s.decimal_mark, s.thousands_sep) as status_code,
        parse_cents(s.balance_text, s.decimal_mark, s.thousands_sep) as balance_cents,
        money_error(s.balance_text, s.decimal_mark, s.thousands_sep) as balance_error,
        parse_cents(s.paid_amount_text, s.decimal_mark, s.thousands_sep) as paid_amount_cents,
        money_error(s.paid_amount_text, s.decimal_mark, s.thousands_sep) as paid_amount_error
    from source as s
),

known_cases as (
    select distinct creditor_ref, case_ref
    from staging.placements
),

checked as (
    select
        t.*,
        case
            when t.reader_error is not null
                then 'malformed_row'
            when t.creditor_ref is null
                or t.case_ref is null
                or t.status_month_text is null
                then 'missing_required'
            when is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                then 'scientific_notation'
            when coalesce(t.balance_error, t.paid_amount_error) is not null
                then coalesce(t.balance_error, t.paid_amount_error)
            when (t.status_month is null and t.status_month_text is not null)
                then 'bad_date'
            when (t.status_code is null and t.status_code_text is not null)
                then 'bad_number'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.status_month > t.received_date
                then 'date_after_received'
            when kc.case_ref is null
                then 'unknown_case'
        end as failed_check
    from typed as t
    left join known_cases as kc
        on kc.creditor_ref = t.creditor_ref and kc.case_ref = t.case_ref
),

final as (
    select
        file_id,
        source_row,
        source_file,
        received_date,
        creditor_ref,
        case_ref,
        status_month,
        status_code,
        balance_cents,
        paid_amount_cents,
        currency,
        failed_check as reject_reason
    from checked
)

select * from final

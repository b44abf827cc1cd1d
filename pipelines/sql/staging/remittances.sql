-- staging.remittances: Agency system: funds remitted to the creditor, one row per remitted
-- payment.
--
-- One row per raw.remittances row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount,
--   negative_amount, bad_date, bad_currency, date_after_received, unknown_case, unknown_payment,
--   duplicate_row, conflicting_duplicate.
-- Natural key (creditor_ref, remittance_ref, payment_ref): among otherwise valid rows the earliest
-- (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all its typed
-- canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.
-- unknown_payment: (creditor_ref, payment_ref) is not a valid row of staging.payments.

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
        clean_text(r.remittance_ref) as remittance_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.payment_ref) as payment_ref,
        clean_text(r.remitted_date) as remitted_date_text,
        clean_text(r.amount) as amount_text,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.remittances as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_date(s.remitted_date_text, s.date_format) as remitted_date,
        parse_cents(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_cents,
        money_error(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_error
    from source as s
),

known_cases as (
    select distinct creditor_ref, case_ref
    from staging.placements
),

known_payments as (
    select distinct creditor_ref, payment_ref
    from staging.payments
),

checked as (
    select
        t.*,
        case
            when t.reader_error is not null
                then 'malformed_row'
            when t.remittance_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.payment_ref is null
                or t.remitted_date_text is null
                or t.amount_text is null
                then 'missing_required'
            when is_scientific(t.remittance_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.payment_ref)
                then 'scientific_notation'
            when t.amount_error is not null
                then t.amount_error
            when t.amount_cents <= 0
                then 'negative_amount'
            when (t.remitted_date is null and t.remitted_date_text is not null)
                then 'bad_date'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.remitted_date > t.received_date
                then 'date_after_received'
            when kc.case_ref is null
                then 'unknown_case'
            when kp.payment_ref is null
                then 'unknown_payment'
        end as failed_check
    from typed as t
    left join known_cases as kc
        on kc.creditor_ref = t.creditor_ref and kc.case_ref = t.case_ref
    left join known_payments as kp
        on kp.creditor_ref = t.creditor_ref and kp.payment_ref = t.payment_ref
),

final as (
    select
        file_id,
        source_row,
        source_file,
        received_date,
        remittance_ref,
        creditor_ref,
        case_ref,
        payment_ref,
        remitted_date,
        amount_cents,
        currency,
        failed_check as reject_reason
    from checked
)

select * from final

-- staging.payments: Payments received, reported by the creditor, the payment provider or the
-- agency; a reversal (chargeback, bounced cheque) names the payment it reverses.
--
-- One row per raw.payments row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount,
--   negative_amount, bad_timestamp, bad_currency, bad_value, date_after_received, unknown_case,
--   unknown_payment, duplicate_row, conflicting_duplicate.
-- Natural key (reported_by, creditor_ref, payment_ref): among otherwise valid rows the earliest
-- (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all its typed
-- canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Timestamps are UTC; date_after_received compares the timestamp's calendar date in the
-- file's time zone (Europe/Paris by default) with the received date (as one UTC bound
-- per file, received_date_end_utc).
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.
-- Derived: is_reversal (reverses_ref is set). amount_cents is signed: a reversal is always
-- negative whatever its sign in the file (and must not be zero); any other payment must be
-- > 0. unknown_payment: a reversal's (reported_by, creditor_ref, reverses_ref) names no
-- valid non-reversal payment of this step.

with

file_dialects as (
    select
        file_id,
        source_file,
        received_date,
        coalesce(decimal_mark, '.') as decimal_mark,
        coalesce(thousands_sep, '') as thousands_sep,
        date_format,
        datetime_format,
        -- an unknown zone name gives NULL (every timestamp of the file is then a bad_timestamp)
        case
            when coalesce(timezone, default_timezone()) in (select name from pg_timezone_names())
                then coalesce(timezone, default_timezone())
        end as timezone,
        coalesce(upper(clean_text(currency)), default_currency()) as file_currency
    from raw.files
),

files as (
    select
        *,
        -- the first UTC instant after the received date, in the file's time zone
        timezone('UTC', timezone(timezone, (received_date + 1)::timestamp))
            as received_date_end_utc
    from file_dialects
),

source as (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_enum(r.reported_by) as reported_by,
        clean_text(r.payment_ref) as payment_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.paid_at) as paid_at_text,
        clean_text(r.amount) as amount_text,
        clean_enum(r.method) as method,
        clean_text(r.reverses_ref) as reverses_ref,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format,
        f.datetime_format,
        f.timezone,
        f.received_date_end_utc
    from raw.payments as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_ts_utc(s.paid_at_text, s.datetime_format, s.date_format, s.timezone) as paid_at,
        parse_cents(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_cents_parsed,
        money_error(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_error
    from source as s
),

signed as (
    select
        *,
        reverses_ref is not null as is_reversal,
        -- a reversal is negative whatever its sign in the file
        case
            when reverses_ref is not null then -abs(amount_cents_parsed)
            else amount_cents_parsed
        end as amount_cents
    from typed
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
            when t.reported_by is null
                or t.payment_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.paid_at_text is null
                or t.amount_text is null
                then 'missing_required'
            when is_scientific(t.payment_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.reverses_ref)
                then 'scientific_notation'
            when t.amount_error is not null
                then t.amount_error
            when (not t.is_reversal and t.amount_cents <= 0)
                or (t.is_reversal and t.amount_cents = 0)
                then 'negative_amount'
            when (t.paid_at is null and t.paid_at_text is not null)
                then 'bad_timestamp'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.reported_by not in ('creditor', 'provider', 'agency')
                or t.method not in ('card', 'transfer', 'direct_debit', 'cheque', 'cash', 'other')
                then 'bad_value'
            when t.paid_at >= t.received_date_end_utc
                then 'date_after_received'
            when kc.case_ref is null
                then 'unknown_case'
        end as failed_check
    from signed as t
    left join known_cases as kc
        on kc.creditor_ref = t.creditor_ref and kc.case_ref = t.case_ref
),

-- the payments a reversal may name: valid so far and not themselves reversals
originals as (
    select distinct reported_by, creditor_ref, payment_ref
    from checked
    where failed_check is null and not is_reversal
),

payment_checked as (
    select
        c.* replace (
            case
                when c.failed_check is not null then c.failed_check
                when c.is_reversal and o.payment_ref is null then 'unknown_payment'
            end as failed_check
        )
    from checked as c
    left join originals as o
        on o.reported_by = c.reported_by
        and o.creditor_ref = c.creditor_ref
        and o.payment_ref = c.reverses_ref
),

final as (
    select
        file_id,
        source_row,
        source_file,
        received_date,
        reported_by,
        payment_ref,
        creditor_ref,
        case_ref,
        paid_at,
        amount_cents,
        currency,
        method,
        reverses_ref,
        is_reversal,
        failed_check as reject_reason
    from payment_checked
)

select * from final

-- staging.plans: Agency system: payment plan events (agreed with its terms, broken, completed,
-- cancelled).
--
-- One row per raw.plans row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount,
--   negative_amount, bad_date, bad_number, bad_currency, bad_value, date_after_received,
--   unknown_case, duplicate_row, conflicting_duplicate.
-- Natural key (plan_ref, event): among otherwise valid rows the earliest (received_date, file_id,
-- source_row) is kept; a later row is a duplicate_row when all its typed canonical values equal
-- the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.
-- An agreed row needs plan_amount and instalments (missing_required); plan_amount > 0 when
-- present; instalments and frequency_days >= 1 when present (bad_number).

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
        clean_text(r.plan_ref) as plan_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.event_date) as event_date_text,
        clean_enum(r.event) as event,
        clean_text(r.plan_amount) as plan_amount_text,
        clean_text(r.instalments) as instalments_text,
        clean_text(r.first_due_date) as first_due_date_text,
        clean_text(r.frequency_days) as frequency_days_text,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.plans as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_date(s.event_date_text, s.date_format) as event_date,
        parse_cents(s.plan_amount_text, s.decimal_mark, s.thousands_sep) as plan_amount_cents,
        money_error(s.plan_amount_text, s.decimal_mark, s.thousands_sep) as plan_amount_error,
        parse_int(s.instalments_text, s.decimal_mark, s.thousands_sep) as instalments,
        parse_date(s.first_due_date_text, s.date_format) as first_due_date,
        parse_int(s.frequency_days_text, s.decimal_mark, s.thousands_sep) as frequency_days
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
            when t.plan_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.event_date_text is null
                or t.event is null
                or (
                    t.event = 'agreed'
                    and (t.plan_amount_text is null or t.instalments_text is null)
                )
                then 'missing_required'
            when is_scientific(t.plan_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                then 'scientific_notation'
            when t.plan_amount_error is not null
                then t.plan_amount_error
            when t.plan_amount_cents <= 0
                then 'negative_amount'
            when (t.event_date is null and t.event_date_text is not null)
                or (t.first_due_date is null and t.first_due_date_text is not null)
                then 'bad_date'
            when (t.instalments is null and t.instalments_text is not null)
                or (t.frequency_days is null and t.frequency_days_text is not null)
                or t.instalments < 1 or t.frequency_days < 1
                then 'bad_number'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.event not in ('agreed', 'broken', 'completed', 'cancelled')
                then 'bad_value'
            when t.event_date > t.received_date
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
        plan_ref,
        creditor_ref,
        case_ref,
        event_date,
        event,
        plan_amount_cents,
        currency,
        instalments,
        first_due_date,
        frequency_days,
        failed_check as reject_reason
    from checked
)

select * from final

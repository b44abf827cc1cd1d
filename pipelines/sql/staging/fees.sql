-- staging.fees: Agency system: fee lines charged to a debtor.
--
-- One row per raw.fees row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount,
--   negative_amount, bad_date, bad_bool, bad_currency, bad_value, date_after_received,
--   unknown_case, duplicate_row, conflicting_duplicate.
-- Natural key (fee_ref): among otherwise valid rows the earliest (received_date, file_id,
-- source_row) is kept; a later row is a duplicate_row when all its typed canonical values equal
-- the kept row's, else a conflicting_duplicate.
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
        clean_text(r.fee_ref) as fee_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.fee_date) as fee_date_text,
        clean_enum(r.fee_type) as fee_type,
        clean_text(r.amount) as amount_text,
        clean_text(r.has_title) as has_title_text,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.fees as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_date(s.fee_date_text, s.date_format) as fee_date,
        parse_cents(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_cents,
        money_error(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_error,
        parse_bool(s.has_title_text) as has_title
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
            when t.fee_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.fee_date_text is null
                or t.fee_type is null
                or t.amount_text is null
                then 'missing_required'
            when is_scientific(t.fee_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                then 'scientific_notation'
            when t.amount_error is not null
                then t.amount_error
            when t.amount_cents <= 0
                then 'negative_amount'
            when (t.fee_date is null and t.fee_date_text is not null)
                then 'bad_date'
            when (t.has_title is null and t.has_title_text is not null)
                then 'bad_bool'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.fee_type not in (
                    'indemnity_40', 'collection_fee', 'file_fee', 'legal_cost', 'other'
                )
                then 'bad_value'
            when t.fee_date > t.received_date
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
        fee_ref,
        creditor_ref,
        case_ref,
        fee_date,
        fee_type,
        amount_cents,
        currency,
        has_title,
        failed_check as reject_reason
    from checked
)

select * from final

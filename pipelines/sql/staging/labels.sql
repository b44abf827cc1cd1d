-- staging.labels: Analysis input: outcomes known outside the ledger (case, observed date, label,
-- value).
--
-- One row per raw.labels row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_date, bad_number,
--   date_after_received, unknown_case, duplicate_row, conflicting_duplicate.
-- Natural key (creditor_ref, case_ref, label, observed_date): among otherwise valid rows the
-- earliest (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all
-- its typed canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.

with

files as (
    select
        file_id,
        source_file,
        received_date,
        coalesce(decimal_mark, '.') as decimal_mark,
        coalesce(thousands_sep, '') as thousands_sep,
        date_format
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
        clean_text(r.label) as label,
        clean_text(r.observed_date) as observed_date_text,
        clean_text(r.value) as value_text,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.labels as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_date(s.observed_date_text, s.date_format) as observed_date,
        parse_float(s.value_text, s.decimal_mark, s.thousands_sep) as value
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
                or t.label is null
                or t.observed_date_text is null
                or t.value_text is null
                then 'missing_required'
            when is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.label)
                then 'scientific_notation'
            when (t.observed_date is null and t.observed_date_text is not null)
                then 'bad_date'
            when (t.value is null and t.value_text is not null)
                then 'bad_number'
            when t.observed_date > t.received_date
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
        label,
        observed_date,
        value,
        failed_check as reject_reason
    from checked
)

select * from final

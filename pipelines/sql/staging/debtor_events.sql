-- staging.debtor_events: Agency system: over-indebtedness, insolvency, deceased, represented,
-- vulnerable (start and end), reported on any case of the debtor.
--
-- One row per raw.debtor_events row: lineage (file_id, source_row, source_file, received_date),
-- the canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the
-- first failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_date, bad_value,
--   date_after_received, unknown_case, duplicate_row, conflicting_duplicate.
-- Natural key (event_ref): among otherwise valid rows the earliest (received_date, file_id,
-- source_row) is kept; a later row is a duplicate_row when all its typed canonical values equal
-- the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Defaults when empty: status = 'start'.

with

files as (
    select
        file_id,
        source_file,
        received_date,
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
        clean_text(r.event_ref) as event_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.event_date) as event_date_text,
        clean_enum(r.event_type) as event_type,
        coalesce(clean_enum(r.status), 'start') as status,
        f.date_format
    from raw.debtor_events as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_date(s.event_date_text, s.date_format) as event_date
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
            when t.event_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.event_date_text is null
                or t.event_type is null
                then 'missing_required'
            when is_scientific(t.event_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                then 'scientific_notation'
            when (t.event_date is null and t.event_date_text is not null)
                then 'bad_date'
            when t.event_type not in (
                    'over_indebtedness', 'insolvency', 'deceased', 'represented', 'vulnerable'
                )
                or t.status not in ('start', 'end')
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
        event_ref,
        creditor_ref,
        case_ref,
        event_date,
        event_type,
        status,
        failed_check as reject_reason
    from checked
)

select * from final

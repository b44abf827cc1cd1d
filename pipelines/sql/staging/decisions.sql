-- staging.decisions: Agency system: the weekly decision per case (wait included) with its
-- propensity.
--
-- One row per raw.decisions row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_timestamp, bad_number, bad_bool,
--   bad_iso_week, bad_value, date_after_received, unknown_case, duplicate_row,
--   conflicting_duplicate.
-- Natural key (creditor_ref, case_ref, iso_week): among otherwise valid rows the earliest
-- (received_date, file_id, source_row) is kept; a later row is a duplicate_row when all its typed
-- canonical values equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Timestamps are UTC; date_after_received compares the timestamp's calendar date in the
-- file's time zone (Europe/Paris by default) with the received date (as one UTC bound
-- per file, received_date_end_utc).
-- propensity must lie in (0, 1] (bad_number).

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
        end as timezone
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

-- read twice (the distinct decision times, then every row): not materialised
source as not materialized (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.iso_week) as iso_week_text,
        clean_enum(r.action) as action,
        clean_text(r.propensity) as propensity_text,
        clean_text(r.policy_id) as policy_id,
        clean_text(r.is_exploration) as is_exploration_text,
        clean_text(r.decided_at) as decided_at_text,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format,
        f.datetime_format,
        f.timezone,
        f.received_date_end_utc
    from raw.decisions as r
    left join files as f using (file_id)
),

-- a weekly decision run stamps its rows with a few times: each distinct time is parsed once
decision_times as (
    select
        decided_at_text,
        datetime_format,
        date_format,
        timezone,
        parse_ts_utc(decided_at_text, datetime_format, date_format, timezone) as decided_at
    from (
        select distinct decided_at_text, datetime_format, date_format, timezone from source
    )
),

typed as (
    select
        s.*,
        parse_iso_week(s.iso_week_text) as iso_week,
        parse_float(s.propensity_text, s.decimal_mark, s.thousands_sep) as propensity,
        parse_bool(s.is_exploration_text) as is_exploration,
        t.decided_at
    from source as s
    left join decision_times as t
        on
            t.decided_at_text is not distinct from s.decided_at_text
            and t.datetime_format is not distinct from s.datetime_format
            and t.date_format is not distinct from s.date_format
            and t.timezone is not distinct from s.timezone
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
                or t.iso_week_text is null
                or t.action is null
                or t.propensity_text is null
                or t.policy_id is null
                or t.is_exploration_text is null
                then 'missing_required'
            when is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.policy_id)
                then 'scientific_notation'
            when (t.decided_at is null and t.decided_at_text is not null)
                then 'bad_timestamp'
            when (t.propensity is null and t.propensity_text is not null)
                or t.propensity <= 0 or t.propensity > 1
                then 'bad_number'
            when (t.is_exploration is null and t.is_exploration_text is not null)
                then 'bad_bool'
            when (t.iso_week is null and t.iso_week_text is not null)
                then 'bad_iso_week'
            when t.action not in (
                    'wait', 'sms_nudge', 'email_nudge', 'email_formal', 'call_nudge',
                    'call_formal', 'letter_formal', 'formal_notice'
                )
                then 'bad_value'
            when t.decided_at >= t.received_date_end_utc
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
        iso_week,
        action,
        propensity,
        policy_id,
        is_exploration,
        decided_at,
        failed_check as reject_reason
    from checked
)

select * from final

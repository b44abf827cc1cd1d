-- staging.actions: Agency system: every contact attempt and its outcome.
--
-- One row per raw.actions row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_timestamp, bad_value,
--   date_after_received, unknown_case, duplicate_row, conflicting_duplicate.
-- Natural key (action_ref): among otherwise valid rows the earliest (received_date, file_id,
-- source_row) is kept; a later row is a duplicate_row when all its typed canonical values equal
-- the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Defaults when empty: direction = 'outbound'.
-- Timestamps are UTC; date_after_received compares the timestamp's calendar date in the
-- file's time zone (Europe/Paris by default) with the received date (as one UTC bound
-- per file, received_date_end_utc).
-- Phones become E.164 with the file's phone_region (pipelines/normalise.py, once per
-- distinct number); an invalid number is NULL and the row is kept.

with

file_dialects as (
    select
        file_id,
        source_file,
        received_date,
        date_format,
        datetime_format,
        -- an unknown zone name gives NULL (every timestamp of the file is then a bad_timestamp)
        case
            when coalesce(timezone, default_timezone()) in (select name from pg_timezone_names())
                then coalesce(timezone, default_timezone())
        end as timezone,
        coalesce(upper(clean_text(phone_region)), default_phone_region()) as phone_region
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

-- read twice (the distinct phones, then every row): not materialised, as a copy of every
-- source row costs more than reading the raw columns again
source as not materialized (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_text(r.action_ref) as action_ref,
        clean_text(r.creditor_ref) as creditor_ref,
        clean_text(r.case_ref) as case_ref,
        clean_text(r.action_at) as action_at_text,
        clean_enum(r.channel) as channel,
        clean_enum(r.tone) as tone,
        coalesce(clean_enum(r.direction), 'outbound') as direction,
        clean_enum(r.outcome) as outcome,
        clean_enum(r.observed_cause) as observed_cause,
        clean_text(r.phone) as phone_text,
        clean_text(r.letter_ref) as letter_ref,
        clean_text(r.agent_ref) as agent_ref,
        f.date_format,
        f.datetime_format,
        f.timezone,
        f.received_date_end_utc,
        f.phone_region
    from raw.actions as r
    left join files as f using (file_id)
),

-- distinct numbers only: e164() checks a French number against phonenumbers'
-- patterns in SQL and hands any other to Python (pipelines/normalise.py)
phone_numbers as (
    select distinct phone_text, phone_region from source
    where phone_text is not null
),

phones as (
    select phone_text, phone_region, e164(phone_text, phone_region) as e164
    from phone_numbers
),

typed as (
    select
        s.*,
        parse_ts_utc(s.action_at_text, s.datetime_format, s.date_format, s.timezone) as action_at,
        p_phone.e164 as phone
    from source as s
    left join phones as p_phone
        on p_phone.phone_text = s.phone_text and p_phone.phone_region = s.phone_region
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
            when t.action_ref is null
                or t.creditor_ref is null
                or t.case_ref is null
                or t.action_at_text is null
                or t.channel is null
                then 'missing_required'
            when is_scientific(t.action_ref)
                or is_scientific(t.creditor_ref)
                or is_scientific(t.case_ref)
                or is_scientific(t.phone_text)
                or is_scientific(t.letter_ref)
                or is_scientific(t.agent_ref)
                then 'scientific_notation'
            when (t.action_at is null and t.action_at_text is not null)
                then 'bad_timestamp'
            when t.channel not in ('sms', 'email', 'call', 'letter', 'visit')
                or t.tone not in ('nudge', 'formal', 'notice')
                or t.direction not in ('outbound', 'inbound')
                or t.outcome not in (
                    'sent', 'delivered', 'failed', 'bounced', 'opened', 'clicked', 'no_answer',
                    'busy', 'voicemail', 'right_party', 'wrong_party', 'callback_requested',
                    'refused'
                )
                or t.observed_cause not in (
                    'cash_flow', 'dispute', 'administrative', 'hardship', 'unwilling'
                )
                then 'bad_value'
            when t.action_at >= t.received_date_end_utc
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
        action_ref,
        creditor_ref,
        case_ref,
        action_at,
        channel,
        tone,
        direction,
        outcome,
        observed_cause,
        phone,
        letter_ref,
        agent_ref,
        failed_check as reject_reason
    from checked
)

select * from final

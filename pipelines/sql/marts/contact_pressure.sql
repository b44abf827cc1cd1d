-- marts.contact_pressure — grain: one row per debtor × contact_date with ≥ 1 outbound attempt.
-- key: (debtor_id, contact_date).
--
-- contact_date is the attempt's date in the debtor's own time zone (core.debtors.tz): caps count
-- per debtor across all cases and creditors, on the debtor's calendar. Every outbound attempt
-- counts, answered or not; inbound contacts do not.
--   attempts: outbound attempts that day, and per channel (sms/email/call/letter/visit_attempts);
--   attempts_7d / attempts_30d: outbound attempts in the rolling 7 / 30 days ending that day
--   (that day and the 6 / 29 before); call_attempts_7d likewise for calls;
--   n_cases: distinct cases attempted that day.
-- The caps (1 call a day, 3 outbound in 7 days — DOMAIN §4) are policy settings; this mart only
-- counts: breaches are call_attempts > max_calls_per_day, attempts_7d > max_outbound_per_7_days.

with

-- debtors are keyed by their row in core.debtors while counting (an integer groups, sorts and
-- partitions faster than the md5 text of debtor_id); debtor_id is looked up at the end
attempts as (
    select
        d.rowid as debtor_row,
        a.case_id,
        a.channel,
        cast(timezone(coalesce(d.tz, 'Europe/Paris'), timezone('UTC', a.action_at)) as date)
            as contact_date
    from core.actions as a
    inner join core.debtors as d using (debtor_id)
    where a.is_attempt
),

-- per case first, so the day's distinct cases are a count of rows (no count distinct)
by_case as (
    select
        debtor_row,
        contact_date,
        case_id,
        count(*) as attempts,
        count_if(channel = 'sms') as sms_attempts,
        count_if(channel = 'email') as email_attempts,
        count_if(channel = 'call') as call_attempts,
        count_if(channel = 'letter') as letter_attempts,
        count_if(channel = 'visit') as visit_attempts
    from attempts
    group by debtor_row, contact_date, case_id
),

daily as (
    select
        debtor_row,
        contact_date,
        cast(sum(attempts) as bigint) as attempts,
        cast(sum(sms_attempts) as bigint) as sms_attempts,
        cast(sum(email_attempts) as bigint) as email_attempts,
        cast(sum(call_attempts) as bigint) as call_attempts,
        cast(sum(letter_attempts) as bigint) as letter_attempts,
        cast(sum(visit_attempts) as bigint) as visit_attempts,
        count(*) as n_cases
    from by_case
    group by debtor_row, contact_date
),

rolling as (
    select
        *,
        cast(sum(attempts) over w7 as bigint) as attempts_7d,
        cast(sum(attempts) over w30 as bigint) as attempts_30d,
        cast(sum(call_attempts) over w7 as bigint) as call_attempts_7d
    from daily
    window
        w7 as (
            partition by debtor_row
            order by contact_date
            range between interval 6 days preceding and current row
        ),
        w30 as (
            partition by debtor_row
            order by contact_date
            range between interval 29 days preceding and current row
        )
),

final as (
    select
        d.debtor_id,
        r.contact_date,
        r.attempts,
        r.sms_attempts,
        r.email_attempts,
        r.call_attempts,
        r.letter_attempts,
        r.visit_attempts,
        r.n_cases,
        r.attempts_7d,
        r.attempts_30d,
        r.call_attempts_7d
    from rolling as r
    inner join core.debtors as d on d.rowid = r.debtor_row
)

select * from final

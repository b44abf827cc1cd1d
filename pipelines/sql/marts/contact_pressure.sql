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

attempts as (
    select
        a.debtor_id,
        a.case_id,
        a.channel,
        cast(timezone(coalesce(d.tz, 'Europe/Paris'), timezone('UTC', a.action_at)) as date)
            as contact_date
    from core.actions as a
    inner join core.debtors as d using (debtor_id)
    where a.is_attempt
),

daily as (
    select
        debtor_id,
        contact_date,
        count(*) as attempts,
        count_if(channel = 'sms') as sms_attempts,
        count_if(channel = 'email') as email_attempts,
        count_if(channel = 'call') as call_attempts,
        count_if(channel = 'letter') as letter_attempts,
        count_if(channel = 'visit') as visit_attempts,
        count(distinct case_id) as n_cases
    from attempts
    group by debtor_id, contact_date
),

final as (
    select
        debtor_id,
        contact_date,
        attempts,
        sms_attempts,
        email_attempts,
        call_attempts,
        letter_attempts,
        visit_attempts,
        n_cases,
        cast(sum(attempts) over w7 as bigint) as attempts_7d,
        cast(sum(attempts) over w30 as bigint) as attempts_30d,
        cast(sum(call_attempts) over w7 as bigint) as call_attempts_7d
    from daily
    window
        w7 as (
            partition by debtor_id
            order by contact_date
            range between interval 6 days preceding and current row
        ),
        w30 as (
            partition by debtor_id
            order by contact_date
            range between interval 29 days preceding and current row
        )
)

select * from final

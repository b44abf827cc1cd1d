-- marts.contact_budget(as_of, max_calls_per_day, max_outbound_per_7_days, quiet_days) — the body
-- of a table macro: each debtor's contact budget for the 7 days from as_of (DOMAIN §4 caps).
-- grain: one row per debtor with a case known at as_of. key: debtor_id.
--
-- Caps count per debtor across all cases and creditors, every outbound attempt answered or not,
-- on the debtor's local calendar (core.debtors.tz). Attempts known at as_of: action_date < as_of
-- and received_date < as_of.
--   outbound_last_6_days: attempts on the 6 local days before as_of (they share a rolling
--   7-day window with the coming days); outbound_remaining = cap − that, at least 0: placing at
--   most that many contacts in the coming 7 days never exceeds the cap in any rolling window.
--   last_conversation_date: the last completed right-party call; a call-back requested on or after
--   it lifts the quiet period; next_call_date: the first day a call is allowed (as_of, or the
--   day after the quiet_days that follow the conversation).
--   call_attempts_remaining: calls allowed in the 7 days (one a day at most max_calls_per_day,
--   within outbound_remaining and after next_call_date).

with

debtors_known as (
    select distinct c.debtor_id, coalesce(d.tz, 'Europe/Paris') as tz
    from core.cases as c
    inner join core.debtors as d using (debtor_id)
    where c.placed_date < cast(as_of as date) and c.received_date < cast(as_of as date)
),

attempts as (
    select
        a.debtor_id,
        a.channel,
        a.outcome,
        a.is_attempt,
        cast(timezone(k.tz, timezone('UTC', a.action_at)) as date) as contact_date
    from core.actions as a
    inner join debtors_known as k using (debtor_id)
    where a.action_date < cast(as_of as date) and a.received_date < cast(as_of as date)
),

per_debtor as (
    select
        debtor_id,
        count(*) filter (
            where is_attempt and contact_date >= cast(as_of as date) - 6
        ) as outbound_last_6_days,
        max(contact_date) filter (where is_attempt) as last_attempt_date,
        max(contact_date) filter (where channel = 'call' and outcome = 'right_party')
            as last_conversation_date,
        max(contact_date) filter (where outcome = 'callback_requested') as last_callback_date
    from attempts
    group by debtor_id
),

budget as (
    select
        k.debtor_id,
        cast(as_of as date) as as_of,
        coalesce(p.outbound_last_6_days, 0) as outbound_last_6_days,
        greatest(cast(max_outbound_per_7_days as bigint) - coalesce(p.outbound_last_6_days, 0), 0)
            as outbound_remaining,
        p.last_attempt_date,
        p.last_conversation_date,
        p.last_callback_date,
        case
            when p.last_conversation_date is null then cast(as_of as date)
            when p.last_callback_date >= p.last_conversation_date then cast(as_of as date)
            else greatest(
                cast(as_of as date), cast(p.last_conversation_date + (quiet_days + 1) as date)
            )
        end as next_call_date
    from debtors_known as k
    left join per_debtor as p using (debtor_id)
),

final as (
    select
        *,
        least(
            outbound_remaining,
            greatest(cast(cast(as_of as date) + 7 - next_call_date as bigint), 0)
            * cast(max_calls_per_day as bigint)
        ) as call_attempts_remaining
    from budget
)

select * from final

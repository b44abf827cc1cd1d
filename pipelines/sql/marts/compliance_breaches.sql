-- marts.compliance_breaches — every row behind a compliance tile (DOMAIN §3, target 0).
-- grain: one row per breaching record and tile. key: (tile, ref).
--
-- Judged on what happened (event dates, the debtor's local calendar), with the figures this
-- build applied (marts.rule_settings, marts.calling_windows, marts.public_holidays):
--   contact_cap: an outbound attempt beyond max_calls_per_day calls on the debtor's local day
--     (rule calls_per_day: the second call and later, by time), one that makes more than
--     max_outbound_per_7_days outbound attempts in the rolling 7 local days ending that day
--     (rule outbound_7_days, counting the day's earlier attempts only), or a call within
--     quiet_days_after_conversation days after a right-party conversation without a call-back
--     requested since (rule quiet_period). One row per attempt (rules joined when several).
--   out_of_window: an outbound attempt on a channel of window_channels outside the calling
--     profile's windows in the debtor's local time, on a Sunday-like day off, or on a public
--     holiday of the debtor's department.
--   excluded_contact: an outbound attempt on a day the case was excluded (DOMAIN §4): a dispute
--     opened before that day and not yet resolved, a debtor event (over-indebtedness, insolvency,
--     deceased, represented, vulnerable) started before it and not ended, a case closed or
--     recalled before it, a promise made before it whose due date + grace is not past, or a
--     per-channel opt-out effective before it.
--   late_remittance: funds remitted more than one calendar month after encashment (CPCE R124-4).
--   consumer_fee: a fee line on an individual's case without an enforceable title by its date.
--   time_barred_worked: an outbound attempt on a case whose every invoice was past its
--     limitation deadline on that day (same rule as marts.limitation, acknowledgements so far).
-- Ids are ours (case_id, debtor_id): pseudonymise them before showing (pipelines.privacy).

with

figures as (
    select * from marts.rule_settings
),

-- every outbound attempt, read from core.actions by each rule that needs it (not materialised:
-- a scan of the stored columns a rule names is cheaper than copying every attempt once and
-- reading the copy seven times)
attempts as not materialized (
    select
        rowid as action_row,
        action_id,
        action_ref,
        case_id,
        debtor_id,
        creditor_ref,
        case_ref,
        channel,
        outcome,
        action_at,
        action_date,
        cast(date_trunc('week', action_date) as date) as week_start_date
    from core.actions
    where is_attempt
),

-- the attempts in the debtor's local time (for the caps, the windows and the quiet period), with
-- the columns the rules read only: the debtor as its row in core.debtors (an integer), and a
-- breach's ids and refs looked up by action_row at the end
attempts_local as (
    select
        a.action_row,
        a.action_id,
        d.rowid as debtor_row,
        a.channel,
        a.outcome,
        a.action_at,
        coalesce(d.department, '') as department,
        timezone(coalesce(d.tz, 'Europe/Paris'), timezone('UTC', a.action_at)) as local_at,
        cast(local_at as date) as contact_date
    from attempts as a
    inner join core.debtors as d using (debtor_id)
),

-- only the days that can breach a cap are ranked (the rest cannot: a few rows at most), found in
-- marts.contact_pressure (the same attempts per debtor and local day): the attempts of the 6 days
-- before a day are its rolling 7 days' attempts minus its own
capped_days as (
    select d.rowid as debtor_row, p.contact_date, p.attempts_7d - p.attempts as attempts_before
    from marts.contact_pressure as p
    inner join core.debtors as d using (debtor_id)
    where
        p.call_attempts > (select max_calls_per_day from figures)
        or p.attempts_7d > (select max_outbound_per_7_days from figures)
),

-- the attempts of those days, with what the breach rows show (no later scan of every attempt)
ranked_in_day as (
    select
        a.action_row,
        a.debtor_row,
        a.channel,
        a.contact_date,
        a.local_at,
        d.attempts_before,
        row_number() over (
            partition by a.debtor_row, a.contact_date order by a.action_at, a.action_id
        ) as nth_in_day,
        row_number() over (
            partition by a.debtor_row, a.contact_date, a.channel = 'call'
            order by a.action_at, a.action_id
        ) as nth_same_kind_in_day
    from attempts_local as a
    inner join capped_days as d using (debtor_row, contact_date)
),

conversations as (
    select debtor_row, contact_date as conversation_date
    from attempts_local
    where channel = 'call' and outcome = 'right_party'
),

callbacks as (
    select
        d.rowid as debtor_row,
        cast(timezone(coalesce(d.tz, 'Europe/Paris'), timezone('UTC', a.action_at)) as date)
            as callback_date
    from core.actions as a
    inner join core.debtors as d using (debtor_id)
    where a.outcome = 'callback_requested'
),

calls_after_conversation as (
    select
        c.action_row,
        c.debtor_row,
        c.channel,
        c.contact_date,
        c.local_at,
        max(v.conversation_date) as conversation_date
    from attempts_local as c
    inner join conversations as v
        on
            c.debtor_row = v.debtor_row
            and v.conversation_date < c.contact_date
            and c.contact_date <= v.conversation_date + (select quiet_days_after_conversation from figures)
    where c.channel = 'call'
    group by all
),

quiet_breaches as (
    select q.* exclude (conversation_date)
    from calls_after_conversation as q
    where not exists (
        select 1
        from callbacks as b
        where
            b.debtor_row = q.debtor_row
            and b.callback_date >= q.conversation_date
            and b.callback_date <= q.contact_date
    )
),

cap_candidates as (
    select action_row, debtor_row, channel, contact_date, local_at
    from ranked_in_day
    union
    select * from quiet_breaches
),

cap_rules as (
    select
        c.*,
        list_filter(
            [
                case
                    when
                        c.channel = 'call'
                        and ranked.nth_same_kind_in_day > (select max_calls_per_day from figures)
                        then 'calls_per_day'
                end,
                case
                    when
                        ranked.attempts_before + ranked.nth_in_day
                        > (select max_outbound_per_7_days from figures)
                        then 'outbound_7_days'
                end,
                case when q.action_row is not null then 'quiet_period' end
            ],
            lambda r: r is not null
        ) as rules
    from cap_candidates as c
    left join ranked_in_day as ranked using (action_row)
    left join quiet_breaches as q using (action_row)
),

contact_cap as (
    select
        'contact_cap' as tile,
        array_to_string(c.rules, ',') as rule,
        r.case_id,
        r.debtor_id,
        r.creditor_ref,
        r.case_ref,
        r.action_ref as ref,
        c.contact_date as event_date,
        c.channel || ' at ' || strftime(c.local_at, '%H:%M') || ' local' as detail
    from cap_rules as c
    inner join core.actions as r on r.rowid = c.action_row
    where len(c.rules) > 0
),

windows as (
    select w.*
    from marts.calling_windows as w
    where w.profile = (select calling_profile from figures)
),

outside_windows as (
    select
        a.action_row,
        a.channel,
        a.contact_date,
        a.local_at,
        h.holiday_date,
        h.name as holiday_name
    from attempts_local as a
    left join marts.public_holidays as h
        on h.department = a.department and h.holiday_date = a.contact_date
    where
        list_contains((select window_channels from figures), a.channel)
        and (
            h.holiday_date is not null
            or not exists (
                select 1
                from windows as w
                where
                    w.isodow = isodow(a.local_at)
                    and cast(a.local_at as time) >= cast(w.start_time as time)
                    and cast(a.local_at as time) < cast(w.end_time as time)
            )
        )
),

out_of_window as (
    select
        'out_of_window' as tile,
        case
            when o.holiday_date is not null then 'public_holiday'
            else 'outside_window'
        end as rule,
        r.case_id,
        r.debtor_id,
        r.creditor_ref,
        r.case_ref,
        r.action_ref as ref,
        o.contact_date as event_date,
        o.channel || ' at ' || strftime(o.local_at, '%a %H:%M') || ' local'
        || coalesce(' (' || o.holiday_name || ')', '') as detail
    from outside_windows as o
    inner join core.actions as r on r.rowid = o.action_row
),

exclusion_periods as (
    select
        case_id,
        null as debtor_id,
        null as channel,
        'open_dispute' as reason,
        opened_date as from_date,
        resolved_date as until_date
    from core.disputes
    union all
    select null, debtor_id, null, event_type, start_date, end_date
    from core.debtor_events
    union all
    select case_id, null, null, status, closed_date, null
    from core.cases
    where status in ('closed', 'recalled') and closed_date is not null
    union all
    select
        case_id,
        null,
        null,
        'promise_pending',
        made_date,
        cast(due_date + (select promise_grace_days from figures) + 1 as date)
    from core.promises
    where not coalesce(is_kept, false)
    union all
    select null, debtor_id, channel, 'opt_out', effective_date, null
    from core.contact_preferences
    where preference = 'opt_out'
),

-- judged on UTC dates (the week, the action date): the debtor's local day, the ids and the refs
-- are looked up for the few excluded attempts only
excluded_attempts as (
    select
        r.action_ref,
        r.case_id,
        r.debtor_id,
        r.creditor_ref,
        r.case_ref,
        r.channel,
        cast(timezone(coalesce(d.tz, 'Europe/Paris'), timezone('UTC', r.action_at)) as date)
            as contact_date,
        x.reasons
    from (
        select action_row, string_agg(distinct reason, ',' order by reason) as reasons
        from (
            select a.action_row, e.reason
            from attempts as a
            inner join exclusion_periods as e
                on
                    e.case_id = a.case_id
                    and e.from_date < a.week_start_date
                    and (e.until_date is null or a.action_date < e.until_date)
            union all
            select a.action_row, e.reason
            from attempts as a
            inner join exclusion_periods as e
                on
                    e.debtor_id = a.debtor_id
                    and (e.channel is null or e.channel = a.channel)
                    and e.from_date < a.week_start_date
                    and (e.until_date is null or a.action_date < e.until_date)
        )
        group by action_row
    ) as x
    inner join core.actions as r on r.rowid = x.action_row
    inner join core.debtors as d using (debtor_id)
),

excluded_contact as (
    select
        'excluded_contact' as tile,
        x.reasons as rule,
        x.case_id,
        x.debtor_id,
        x.creditor_ref,
        x.case_ref,
        x.action_ref as ref,
        x.contact_date as event_date,
        x.channel || ' while ' || replace(x.reasons, ',', ', ') as detail
    from excluded_attempts as x
),

late_remittance as (
    select
        'late_remittance' as tile,
        'one_calendar_month' as rule,
        r.case_id,
        c.debtor_id,
        r.creditor_ref,
        r.case_ref,
        r.remittance_ref as ref,
        r.remitted_date as event_date,
        'encashed ' || strftime(r.paid_date, '%Y-%m-%d') || ', held ' || r.days_held || ' days'
            as detail
    from core.remittances as r
    left join core.cases as c using (case_id)
    where r.remitted_date > r.paid_date + interval 1 month
),

consumer_fee as (
    select
        'consumer_fee' as tile,
        'no_enforceable_title' as rule,
        case_id,
        debtor_id,
        creditor_ref,
        case_ref,
        fee_ref as ref,
        fee_date as event_date,
        fee_type || ' ' || amount_cents || ' cents' as detail
    from core.fees
    where debtor_type = 'individual' and not coalesce(has_title_by_fee_date, false)
),

case_invoices as (
    select
        i.case_id,
        c.debtor_type,
        i.placed_date,
        coalesce(i.title_date, i.due_date) as base_date,
        case
            when i.title_date is not null then (select judgment_years from figures)
            when c.debtor_type = 'business' then (select business_years from figures)
            else (select consumer_years from figures)
        end as years
    from core.invoices as i
    inner join core.cases as c using (case_id)
),

acknowledgements as (
    select case_id, paid_date as acknowledged_date
    from core.payments
    where not is_reversal and not coalesce(is_fully_reversed, false)
    union all
    select case_id, agreed_date from core.payment_plans
),

-- a case's deadline is never earlier than its earliest invoice's own (no acknowledgement):
-- only attempts on or after that date can be time-barred, and only those are checked
earliest_deadlines as (
    select
        case_id,
        cast(min(base_date + to_years(cast(years as integer))) as date) as earliest_deadline
    from case_invoices
    group by case_id
    having earliest_deadline <= (select max(action_date) from core.actions)
),

barred_candidates as (
    select a.action_row, a.case_id, a.action_date
    from attempts as a
    inner join earliest_deadlines as e using (case_id)
    where a.action_date >= e.earliest_deadline
),

attempt_acknowledgements as (
    select
        a.*,
        k.acknowledged_date as last_acknowledged_date
    from barred_candidates as a
    asof left join acknowledgements as k
        on a.case_id = k.case_id and a.action_date > k.acknowledged_date
),

attempt_deadlines as (
    select
        a.action_row,
        a.action_date,
        max(
            greatest(i.base_date, a.last_acknowledged_date)
            + to_years(cast(i.years as integer))
        ) as deadline_date
    from attempt_acknowledgements as a
    inner join case_invoices as i on i.case_id = a.case_id and i.placed_date <= a.action_date
    group by a.action_row, a.action_date
),

time_barred_worked as (
    select
        'time_barred_worked' as tile,
        'limitation_passed' as rule,
        r.case_id,
        r.debtor_id,
        r.creditor_ref,
        r.case_ref,
        r.action_ref as ref,
        t.action_date as event_date,
        r.channel || ' after deadline ' || strftime(t.deadline_date, '%Y-%m-%d') as detail
    from attempt_deadlines as t
    inner join core.actions as r on r.rowid = t.action_row
    where t.deadline_date <= t.action_date
),

final as (
    select * from contact_cap
    union all by name
    select * from out_of_window
    union all by name
    select * from excluded_contact
    union all by name
    select * from late_remittance
    union all by name
    select * from consumer_fee
    union all by name
    select * from time_barred_worked
)

select * from final

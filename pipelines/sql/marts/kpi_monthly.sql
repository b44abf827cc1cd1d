-- marts.kpi_monthly — grain: one row per calendar month × creditor × currency, from the
-- creditor's first placement month to the data end month (the latest placement, payment or action
-- date). key: (month, creditor_id, currency). KPIs never mix currencies.
--
-- Basis, numerator and denominator (DOMAIN §3) are in the column names:
--   frame "period" — events dated in the month (payments by paid_date, actions by action_date,
--     promises by made_date / due_date, disputes and complaints by opened_date);
--   frame "cohort" (cohort_*) — the cases placed in the month, followed to the data end
--     ("to_date": cohorts of different ages; compare at equal age in marts.vintage_recovery).
--   placed_cases, placed_cents: cases placed in the month and Σ their placed amount.
--   collected_cents = gross_collected_cents − reversed_cents: net, period (payment currency).
--   liquidation_rate_amount_period = collected_cents ÷ placed_cents (distorted by inflow).
--   cases_first_payment: cases whose first counting payment (not a reversal, not fully
--     reversed) is dated in the month.
--   active_cases_month_end: placed on or before the month's last day, not closed/recalled by it;
--     active_cases_in_month: placed by the month's end and not closed before its first day.
--   cohort_collected_to_date_cents ÷ placed_cents = cohort_recovery_rate_amount_to_date;
--   cohort_cases_paid_to_date ÷ placed_cases = cohort_recovery_rate_count_to_date (cases with ≥ 1
--     counting payment); cohort_cases_paid_in_full_to_date ÷ placed_cases =
--     cohort_paid_in_full_rate_count_to_date (net collected ≥ corrected amount). Cohort money
--     counts payments in the case's currency only.
--   outbound_attempts (all channels) and per channel; inbound_contacts; call_attempts = outbound
--     calls; right_party_calls = outbound calls reaching the debtor;
--     right_party_contact_rate = right_party_calls ÷ call_attempts;
--     right_party_contacts = any contact with outcome right_party (either direction);
--     cases_attempted: cases with ≥ 1 outbound attempt; penetration_rate = cases_attempted ÷
--     active_cases_in_month.
--   promises_made; ptp_rate = promises_made ÷ right_party_contacts; promises_due (due_date in the
--     month); promises_kept (of those, kept by the due date with a grace of 0 days — the grace is
--     a setting); ptp_kept_rate = promises_kept ÷ promises_due.
--   disputes_opened, complaints_opened; disputes_per_1000_active_cases =
--     1000 × disputes_opened ÷ active_cases_in_month; complaints_per_1000_outbound_attempts =
--     1000 × complaints_opened ÷ outbound_attempts.
-- Rates are NULL when their denominator is 0. Costs: no cost table yet, so no cost to collect.

with

cases as (
    select
        *,
        cast(date_trunc('month', placed_date) as date) as placed_month,
        cast(date_trunc('month', closed_date) as date) as closed_month
    from core.cases
),

payments as (
    select
        p.*,
        cast(date_trunc('month', p.paid_date) as date) as paid_month,
        c.currency as case_currency
    from core.payments as p
    inner join cases as c using (case_id)
),

data_end as (
    select
        cast(date_trunc('month', greatest(
            (select max(placed_date) from core.cases),
            (select max(paid_date) from core.payments),
            (select max(action_date) from core.actions)
        )) as date) as end_month
),

keys as (
    select creditor_id, currency, min(placed_month) as first_month
    from (
        select creditor_id, currency, placed_month from cases
        union all
        select creditor_id, currency, paid_month from payments
    )
    group by creditor_id, currency
),

grid as (
    select
        k.creditor_id,
        k.currency,
        cast(unnest(generate_series(k.first_month, d.end_month, interval 1 month)) as date)
            as month
    from keys as k
    cross join data_end as d
),

case_payments as (
    select
        case_id,
        min(paid_date) filter (where not is_reversal and not is_fully_reversed)
            as first_payment_date,
        cast(coalesce(sum(amount_cents) filter (where currency = case_currency), 0) as bigint)
            as collected_to_date_cents
    from payments
    group by case_id
),

placed as (
    select
        c.placed_month as month,
        c.creditor_id,
        c.currency,
        count(*) as placed_cases,
        cast(sum(c.placed_amount_cents) as bigint) as placed_cents,
        cast(sum(coalesce(cp.collected_to_date_cents, 0)) as bigint)
            as cohort_collected_to_date_cents,
        count(cp.first_payment_date) as cohort_cases_paid_to_date,
        count_if(coalesce(cp.collected_to_date_cents, 0) >= c.corrected_amount_cents)
            as cohort_cases_paid_in_full_to_date
    from cases as c
    left join case_payments as cp using (case_id)
    group by all
),

closed as (
    select closed_month as month, creditor_id, currency, count(*) as closed_cases
    from cases
    where closed_month is not null
    group by all
),

collected as (
    select
        paid_month as month,
        creditor_id,
        currency,
        cast(coalesce(sum(amount_cents) filter (where not is_reversal), 0) as bigint)
            as gross_collected_cents,
        cast(coalesce(-sum(amount_cents) filter (where is_reversal), 0) as bigint)
            as reversed_cents,
        cast(sum(amount_cents) as bigint) as collected_cents
    from payments
    group by all
),

first_payments as (
    select
        cast(date_trunc('month', cp.first_payment_date) as date) as month,
        c.creditor_id,
        c.currency,
        count(*) as cases_first_payment
    from case_payments as cp
    inner join cases as c using (case_id)
    where cp.first_payment_date is not null
    group by all
),

case_month_contacts as (
    select
        case_id,
        cast(date_trunc('month', action_date) as date) as month,
        count_if(is_attempt) as outbound_attempts,
        count_if(is_attempt and channel = 'sms') as sms_attempts,
        count_if(is_attempt and channel = 'email') as email_attempts,
        count_if(is_attempt and channel = 'call') as call_attempts,
        count_if(is_attempt and channel = 'letter') as letter_attempts,
        count_if(is_attempt and channel = 'visit') as visit_attempts,
        count_if(not is_attempt) as inbound_contacts,
        count_if(is_attempt and channel = 'call' and is_right_party_contact)
            as right_party_calls,
        count_if(is_right_party_contact) as right_party_contacts
    from core.actions
    group by case_id, month
),

contacts as (
    select
        a.month,
        c.creditor_id,
        c.currency,
        cast(sum(a.outbound_attempts) as bigint) as outbound_attempts,
        cast(sum(a.sms_attempts) as bigint) as sms_attempts,
        cast(sum(a.email_attempts) as bigint) as email_attempts,
        cast(sum(a.call_attempts) as bigint) as call_attempts,
        cast(sum(a.letter_attempts) as bigint) as letter_attempts,
        cast(sum(a.visit_attempts) as bigint) as visit_attempts,
        cast(sum(a.inbound_contacts) as bigint) as inbound_contacts,
        cast(sum(a.right_party_calls) as bigint) as right_party_calls,
        cast(sum(a.right_party_contacts) as bigint) as right_party_contacts,
        count_if(a.outbound_attempts > 0) as cases_attempted
    from case_month_contacts as a
    inner join cases as c using (case_id)
    group by all
),

promises_made as (
    select
        cast(date_trunc('month', p.made_date) as date) as month,
        c.creditor_id,
        c.currency,
        count(*) as promises_made
    from core.promises as p
    inner join cases as c using (case_id)
    group by all
),

promises_due as (
    select
        cast(date_trunc('month', p.due_date) as date) as month,
        c.creditor_id,
        c.currency,
        count(*) as promises_due,
        count_if(p.is_kept) as promises_kept
    from core.promises as p
    inner join cases as c using (case_id)
    group by all
),

disputes as (
    select
        cast(date_trunc('month', d.opened_date) as date) as month,
        c.creditor_id,
        c.currency,
        count(*) as disputes_opened
    from core.disputes as d
    inner join cases as c using (case_id)
    where d.opened_date is not null
    group by all
),

complaints as (
    select
        cast(date_trunc('month', k.opened_date) as date) as month,
        c.creditor_id,
        c.currency,
        count(*) as complaints_opened
    from core.complaints as k
    inner join cases as c using (case_id)
    where k.opened_date is not null
    group by all
),

joined as (
    select
        g.month,
        g.creditor_id,
        g.currency,
        coalesce(pl.placed_cases, 0) as placed_cases,
        coalesce(pl.placed_cents, 0) as placed_cents,
        coalesce(cl.closed_cases, 0) as closed_cases,
        coalesce(co.gross_collected_cents, 0) as gross_collected_cents,
        coalesce(co.reversed_cents, 0) as reversed_cents,
        coalesce(co.collected_cents, 0) as collected_cents,
        coalesce(fp.cases_first_payment, 0) as cases_first_payment,
        coalesce(pl.cohort_collected_to_date_cents, 0) as cohort_collected_to_date_cents,
        coalesce(pl.cohort_cases_paid_to_date, 0) as cohort_cases_paid_to_date,
        coalesce(pl.cohort_cases_paid_in_full_to_date, 0) as cohort_cases_paid_in_full_to_date,
        coalesce(ct.outbound_attempts, 0) as outbound_attempts,
        coalesce(ct.sms_attempts, 0) as sms_attempts,
        coalesce(ct.email_attempts, 0) as email_attempts,
        coalesce(ct.call_attempts, 0) as call_attempts,
        coalesce(ct.letter_attempts, 0) as letter_attempts,
        coalesce(ct.visit_attempts, 0) as visit_attempts,
        coalesce(ct.inbound_contacts, 0) as inbound_contacts,
        coalesce(ct.right_party_calls, 0) as right_party_calls,
        coalesce(ct.right_party_contacts, 0) as right_party_contacts,
        coalesce(ct.cases_attempted, 0) as cases_attempted,
        coalesce(pm.promises_made, 0) as promises_made,
        coalesce(pd.promises_due, 0) as promises_due,
        coalesce(pd.promises_kept, 0) as promises_kept,
        coalesce(di.disputes_opened, 0) as disputes_opened,
        coalesce(cm.complaints_opened, 0) as complaints_opened
    from grid as g
    left join placed as pl using (month, creditor_id, currency)
    left join closed as cl using (month, creditor_id, currency)
    left join collected as co using (month, creditor_id, currency)
    left join first_payments as fp using (month, creditor_id, currency)
    left join contacts as ct using (month, creditor_id, currency)
    left join promises_made as pm using (month, creditor_id, currency)
    left join promises_due as pd using (month, creditor_id, currency)
    left join disputes as di using (month, creditor_id, currency)
    left join complaints as cm using (month, creditor_id, currency)
),

running as (
    select
        *,
        sum(placed_cases) over w - sum(closed_cases) over w as active_cases_month_end,
        sum(placed_cases) over w - coalesce(sum(closed_cases) over w_before, 0)
            as active_cases_in_month
    from joined
    window
        w as (
            partition by creditor_id, currency
            order by month
            rows between unbounded preceding and current row
        ),
        w_before as (
            partition by creditor_id, currency
            order by month
            rows between unbounded preceding and 1 preceding
        )
),

final as (
    select
        r.month,
        r.creditor_id,
        cr.creditor_ref,
        r.currency,
        r.placed_cases,
        r.placed_cents,
        r.gross_collected_cents,
        r.reversed_cents,
        r.collected_cents,
        r.collected_cents / nullif(r.placed_cents, 0) as liquidation_rate_amount_period,
        r.cases_first_payment,
        cast(r.active_cases_month_end as bigint) as active_cases_month_end,
        cast(r.active_cases_in_month as bigint) as active_cases_in_month,
        r.cohort_collected_to_date_cents,
        r.cohort_collected_to_date_cents / nullif(r.placed_cents, 0)
            as cohort_recovery_rate_amount_to_date,
        r.cohort_cases_paid_to_date,
        r.cohort_cases_paid_to_date / nullif(r.placed_cases, 0)
            as cohort_recovery_rate_count_to_date,
        r.cohort_cases_paid_in_full_to_date,
        r.cohort_cases_paid_in_full_to_date / nullif(r.placed_cases, 0)
            as cohort_paid_in_full_rate_count_to_date,
        r.outbound_attempts,
        r.sms_attempts,
        r.email_attempts,
        r.call_attempts,
        r.letter_attempts,
        r.visit_attempts,
        r.inbound_contacts,
        r.right_party_calls,
        r.right_party_calls / nullif(r.call_attempts, 0) as right_party_contact_rate,
        r.right_party_contacts,
        r.cases_attempted,
        r.cases_attempted / nullif(r.active_cases_in_month, 0) as penetration_rate,
        r.promises_made,
        r.promises_made / nullif(r.right_party_contacts, 0) as ptp_rate,
        r.promises_due,
        r.promises_kept,
        r.promises_kept / nullif(r.promises_due, 0) as ptp_kept_rate,
        r.disputes_opened,
        1000 * r.disputes_opened / nullif(r.active_cases_in_month, 0)
            as disputes_per_1000_active_cases,
        r.complaints_opened,
        1000 * r.complaints_opened / nullif(r.outbound_attempts, 0)
            as complaints_per_1000_outbound_attempts
    from running as r
    inner join core.creditors as cr using (creditor_id)
)

select * from final

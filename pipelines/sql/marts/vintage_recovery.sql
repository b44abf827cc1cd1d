-- marts.vintage_recovery — grain: one row per cohort (placement month × creditor × currency) ×
-- age_months k = 0 … N, N the number of calendar months from the cohort month to the data end
-- month (latest placement, payment or action date). key: (cohort_month, creditor_id, currency,
-- age_months).
--
-- Age is in calendar months: a payment dated in the placement month is age 0, the next month
-- age 1, …; a payment dated before its case's placement counts at age 0. Only payments in the
-- case's currency count (KPIs never mix currencies).
--   cases, placed_cents: the cohort (constant over k).
--   collected_cents: net (reversals deducted when dated) collected at age k;
--   collected_cum_cents: up to and including age k;
--   recovery_rate_amount = collected_cum_cents ÷ placed_cents (DOMAIN §3, cohort, by amount).
--   cases_paid_cum: cases whose first counting payment (not a reversal, not fully reversed) is at
--   age ≤ k; recovery_rate_count = cases_paid_cum ÷ cases.
--   cases_paid_in_full_cum: cases whose running net collected reached their corrected amount at
--   age ≤ k; paid_in_full_rate_count = cases_paid_in_full_cum ÷ cases.
--   is_partial_month: age k is the data end month (still being collected).

with

cases as (
    select
        case_id,
        creditor_id,
        currency,
        placed_amount_cents,
        corrected_amount_cents,
        cast(date_trunc('month', placed_date) as date) as cohort_month
    from core.cases
),

data_end as (
    select
        cast(date_trunc('month', greatest(
            (select max(placed_date) from core.cases),
            (select max(paid_date) from core.payments),
            (select max(action_date) from core.actions)
        )) as date) as end_month
),

case_payments as (
    select
        p.case_id,
        greatest(
            date_diff('month', c.cohort_month, cast(date_trunc('month', p.paid_date) as date)), 0
        ) as age_months,
        p.amount_cents,
        not p.is_reversal and not p.is_fully_reversed as is_counting
    from core.payments as p
    inner join cases as c using (case_id)
    where p.currency = c.currency
),

case_ages as (
    select
        case_id,
        age_months,
        cast(sum(amount_cents) as bigint) as collected_cents,
        bool_or(is_counting) as has_counting_payment
    from case_payments
    group by case_id, age_months
),

case_running as (
    select
        a.*,
        sum(a.collected_cents) over (
            partition by a.case_id
            order by a.age_months
            rows between unbounded preceding and current row
        ) as running_cents,
        c.corrected_amount_cents
    from case_ages as a
    inner join cases as c using (case_id)
),

case_milestones as (
    select
        case_id,
        min(age_months) filter (where has_counting_payment) as first_paid_age,
        min(age_months) filter (where running_cents >= corrected_amount_cents)
            as paid_in_full_age
    from case_running
    group by case_id
),

cohorts as (
    select
        cohort_month,
        creditor_id,
        currency,
        count(*) as cases,
        cast(sum(placed_amount_cents) as bigint) as placed_cents
    from cases
    group by all
),

collected_by_age as (
    select
        c.cohort_month,
        c.creditor_id,
        c.currency,
        a.age_months,
        cast(sum(a.collected_cents) as bigint) as collected_cents
    from case_ages as a
    inner join cases as c using (case_id)
    group by all
),

paid_by_age as (
    select
        c.cohort_month,
        c.creditor_id,
        c.currency,
        m.first_paid_age as age_months,
        count(*) as cases_first_paid
    from case_milestones as m
    inner join cases as c using (case_id)
    where m.first_paid_age is not null
    group by all
),

paid_in_full_by_age as (
    select
        c.cohort_month,
        c.creditor_id,
        c.currency,
        m.paid_in_full_age as age_months,
        count(*) as cases_paid_in_full
    from case_milestones as m
    inner join cases as c using (case_id)
    where m.paid_in_full_age is not null
    group by all
),

grid as (
    select
        h.*,
        unnest(range(0, date_diff('month', h.cohort_month, d.end_month) + 1)) as age_months,
        d.end_month
    from cohorts as h
    cross join data_end as d
),

joined as (
    select
        g.cohort_month,
        g.creditor_id,
        g.currency,
        g.age_months,
        g.end_month,
        g.cases,
        g.placed_cents,
        coalesce(ca.collected_cents, 0) as collected_cents,
        coalesce(pa.cases_first_paid, 0) as cases_first_paid,
        coalesce(pf.cases_paid_in_full, 0) as cases_paid_in_full
    from grid as g
    left join collected_by_age as ca using (cohort_month, creditor_id, currency, age_months)
    left join paid_by_age as pa using (cohort_month, creditor_id, currency, age_months)
    left join paid_in_full_by_age as pf using (cohort_month, creditor_id, currency, age_months)
),

running as (
    select
        *,
        cast(sum(collected_cents) over w as bigint) as collected_cum_cents,
        cast(sum(cases_first_paid) over w as bigint) as cases_paid_cum,
        cast(sum(cases_paid_in_full) over w as bigint) as cases_paid_in_full_cum
    from joined
    window w as (
        partition by cohort_month, creditor_id, currency
        order by age_months
        rows between unbounded preceding and current row
    )
),

final as (
    select
        r.cohort_month,
        r.creditor_id,
        cr.creditor_ref,
        r.currency,
        r.age_months,
        cast(r.cohort_month + to_months(cast(r.age_months as integer)) as date) as month,
        r.cases,
        r.placed_cents,
        r.collected_cents,
        r.collected_cum_cents,
        r.collected_cum_cents / nullif(r.placed_cents, 0) as recovery_rate_amount,
        r.cases_paid_cum,
        r.cases_paid_cum / nullif(r.cases, 0) as recovery_rate_count,
        r.cases_paid_in_full_cum,
        r.cases_paid_in_full_cum / nullif(r.cases, 0) as paid_in_full_rate_count,
        cast(r.cohort_month + to_months(cast(r.age_months as integer)) as date) = r.end_month
            as is_partial_month
    from running as r
    inner join core.creditors as cr using (creditor_id)
)

select * from final

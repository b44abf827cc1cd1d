-- marts.case_facts — grain: one row per case. key: case_id.
--
-- The app's per-case table: the Portfolio filter dimensions and the case-level KPI measures, so
-- a filter set (score bands included, joined on case_id) is one scan of this table instead of
-- joins over core.payments, core.actions, core.disputes and core.complaints at query time.
--   observed_cause: the latest cause stated on a contact ('unknown' when none, as in
--   marts.case_snapshots); stage: 'judicial' once an invoice of the case has an enforceable
--   title, else 'amicable'; placed_month: first day of the placement month.
--   collected_cents: Σ payments (net: reversals are negative); is_paid: ≥ 1 counting payment
--   (not a reversal, not fully reversed), first_paid_date the date of the first one;
--   is_paid_in_full: collected ≥ corrected amount
--   (null when the corrected amount is); is_open: status 'open'; is_cured: paid in full or a
--   completed payment plan; outbound_attempts, disputes, complaints: counts over the case.

with

causes as (
    select
        case_id,
        arg_max(observed_cause, (action_at, action_id)) as observed_cause
    from core.actions
    where observed_cause is not null
    group by case_id
),

titled as (
    select distinct case_id
    from core.invoices
    where title_date is not null
),

pay as (
    select
        case_id,
        sum(amount_cents) as collected_cents,
        count(*) filter (where not is_reversal and not is_fully_reversed) as n_counting,
        min(paid_date) filter (where not is_reversal and not is_fully_reversed) as first_paid_date
    from core.payments
    group by case_id
),

plans as (
    select distinct case_id
    from core.payment_plans
    where completed_date is not null
),

attempts as (
    select
        case_id,
        count(*) as outbound_attempts
    from core.actions
    where is_attempt and direction = 'outbound'
    group by case_id
),

disputes as (
    select
        case_id,
        count(*) as disputes
    from core.disputes
    group by case_id
),

complaints as (
    select
        case_id,
        count(*) as complaints
    from core.complaints
    group by case_id
),

final as (
    select
        c.case_id,
        c.creditor_ref,
        c.debtor_type,
        coalesce(k.observed_cause, 'unknown') as observed_cause,
        case when t.case_id is null then 'amicable' else 'judicial' end as stage,
        cast(date_trunc('month', c.placed_date) as date) as placed_month,
        c.placed_date,
        c.placed_amount_cents,
        c.corrected_amount_cents,
        cast(coalesce(p.collected_cents, 0) as bigint) as collected_cents,
        coalesce(p.n_counting, 0) > 0 as is_paid,
        p.first_paid_date,
        coalesce(p.collected_cents, 0) >= c.corrected_amount_cents as is_paid_in_full,
        c.status = 'open' as is_open,
        (coalesce(p.collected_cents, 0) >= c.corrected_amount_cents)
        or (pl.case_id is not null) as is_cured,
        coalesce(a.outbound_attempts, 0) as outbound_attempts,
        coalesce(d.disputes, 0) as disputes,
        coalesce(x.complaints, 0) as complaints
    from core.cases as c
    left join causes as k using (case_id)
    left join titled as t using (case_id)
    left join pay as p using (case_id)
    left join plans as pl using (case_id)
    left join attempts as a using (case_id)
    left join disputes as d using (case_id)
    left join complaints as x using (case_id)
)

select * from final

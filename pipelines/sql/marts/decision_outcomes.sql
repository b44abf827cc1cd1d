-- marts.decision_outcomes — grain: one row per creditor × debtor_type × observed_cause × stage ×
-- placed_month × action × is_exploration × outcome × days. key: all nine (days null on
-- 'decision' rows).
--
-- The Channels page's weekly decisions and their outcomes, aggregated at build time so a filter
-- set is a small group-by (27 M decisions at 1 M cases are never scanned at query time).
-- The case dimensions are those of marts.case_facts (latest observed cause, stage).
--   outcome 'decision': every decision of the group (days null);
--   outcome 'payment': decisions whose first non-reversal payment dated on or after the
--   decision week's start falls `days` days after it (0 … 91);
--   outcome 'complaint': likewise for the first complaint opened on or after the week start.
-- A decision is paid within a horizon of h ≤ 92 days when its payment row has days < h, so
-- any horizon up to 92 days is answered from this table.
--   decisions: decisions counted; ips_decisions: those with propensity > 0; ips_weight:
--   Σ 1 / propensity over them (self-normalised IPS).
-- A decision is one case × week: firsts group by (case_id, week_start_date), not by decision_id
-- (a virtual column of core.decisions, computed when read).

with

-- read three times, from the stored columns (cheaper than a materialised copy of 28 M rows at
-- 1,000,000 cases)
decisions as not materialized (
    select
        case_id,
        action,
        is_exploration,
        week_start_date,
        propensity
    from core.decisions
),

payments as (
    select distinct
        case_id,
        paid_date as event_date
    from core.payments
    where not is_reversal and paid_date is not null
),

complaints as (
    select distinct
        case_id,
        opened_date as event_date
    from core.complaints
    where opened_date is not null
),

firsts as (
    select
        d.week_start_date,
        d.case_id,
        d.action,
        d.is_exploration,
        d.propensity,
        'payment' as outcome,
        min(p.event_date - d.week_start_date) as days
    from decisions as d
    inner join payments as p
        on
            d.case_id = p.case_id
            and p.event_date >= d.week_start_date
            and p.event_date < d.week_start_date + 92
    group by all
    union all
    select
        d.week_start_date,
        d.case_id,
        d.action,
        d.is_exploration,
        d.propensity,
        'complaint' as outcome,
        min(c.event_date - d.week_start_date) as days
    from decisions as d
    inner join complaints as c
        on
            d.case_id = c.case_id
            and c.event_date >= d.week_start_date
            and c.event_date < d.week_start_date + 92
    group by all
),

per_case as (
    select
        case_id,
        action,
        is_exploration,
        'decision' as outcome,
        cast(null as integer) as days,
        count(*) as decisions,
        count(*) filter (where propensity > 0) as ips_decisions,
        sum(1 / propensity) filter (where propensity > 0) as ips_weight
    from decisions
    group by all
    union all
    select
        case_id,
        action,
        is_exploration,
        outcome,
        cast(days as integer) as days,
        count(*) as decisions,
        count(*) filter (where propensity > 0) as ips_decisions,
        sum(1 / propensity) filter (where propensity > 0) as ips_weight
    from firsts
    group by all
),

final as (
    select
        f.creditor_ref,
        f.debtor_type,
        f.observed_cause,
        f.stage,
        f.placed_month,
        p.action,
        p.is_exploration,
        p.outcome,
        p.days,
        sum(p.decisions) as decisions,
        sum(p.ips_decisions) as ips_decisions,
        coalesce(sum(p.ips_weight), 0) as ips_weight
    from per_case as p
    inner join marts.case_facts as f using (case_id)
    group by all
)

select * from final

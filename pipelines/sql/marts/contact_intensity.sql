-- marts.contact_intensity — grain: one row per measure × value. key: (measure, value).
--
-- The distribution of marts.contact_pressure's rolling counts, so the Channels page reads a
-- few rows instead of every debtor-day: measure is 'attempts_7d', 'attempts_30d' or
-- 'call_attempts_7d'; debtor_days: the debtor-days (rows of marts.contact_pressure) whose
-- count equals value (missing counts are left out, as UNPIVOT does). Quantiles, maxima and
-- cap breaches follow exactly from these counts.

with

counts as (
    select
        attempts_7d,
        attempts_30d,
        call_attempts_7d,
        count(*) as debtor_days
    from marts.contact_pressure
    group by all
),

final as (
    select
        'attempts_7d' as measure,
        attempts_7d as value,
        sum(debtor_days) as debtor_days
    from counts
    where attempts_7d is not null
    group by all
    union all
    select
        'attempts_30d' as measure,
        attempts_30d as value,
        sum(debtor_days) as debtor_days
    from counts
    where attempts_30d is not null
    group by all
    union all
    select
        'call_attempts_7d' as measure,
        call_attempts_7d as value,
        sum(debtor_days) as debtor_days
    from counts
    where call_attempts_7d is not null
    group by all
)

select * from final

-- marts.case_attempts — grain: one row per case × action with ≥ 1 outbound attempt.
-- key: (case_id, action).
--
-- Outbound attempts per case and action, with the case's Portfolio filter dimensions copied
-- from marts.case_facts, so the app prices a filter set's contact cost ([objective.cost_cents],
-- read at query time) with one scan and no join to core.actions.

with

attempts as (
    select
        case_id,
        action,
        count(*) as attempts
    from core.actions
    where is_attempt and direction = 'outbound'
    group by case_id, action
),

final as (
    select
        a.case_id,
        f.creditor_ref,
        f.debtor_type,
        f.observed_cause,
        f.stage,
        f.placed_month,
        a.action,
        a.attempts
    from attempts as a
    inner join marts.case_facts as f using (case_id)
)

select * from final

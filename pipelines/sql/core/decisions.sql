-- core.decisions — grain: one row per case × ISO week (the decision unit, DESIGN §5).
-- key: decision_id = md5(creditor_ref || '|' || case_ref || '|' || iso_week), a virtual column
-- the build declares first (pipelines/warehouse.py, VIRTUAL_COLUMNS): computed when read, never
-- stored, so this select leaves it out.
--
-- week_start_date: the Monday of iso_week ('YYYY-Www'). propensity is the probability with which
-- the logging policy chose the (final) action; is_exploration as logged.
-- received_date is the knowledge date (decided_at, when given, is UTC).
-- case_id = md5(creditor_ref || '|' || case_ref), as core.cases names it: computed, not looked
-- up (the join cost 3 s of the write at 1,000,000 cases and could only ever find the same value).
-- A decision's debtor and creditor are its case's (core.cases): not repeated on 28 M rows at
-- 1,000,000 cases (they cost 1 GB and 3 s of the write, and no reader used them).

with

decisions as (
    select * from staging.decisions
),

weeks as (
    select
        *,
        make_date(cast(left(iso_week, 4) as integer), 1, 4) as jan_4,
        cast(right(iso_week, 2) as integer) as week_no
    from decisions
),

final as (
    select
        md5(w.creditor_ref || '|' || w.case_ref) as case_id,
        w.creditor_ref,
        w.case_ref,
        w.iso_week,
        w.jan_4 - cast(isodow(w.jan_4) - 1 as integer) + cast((w.week_no - 1) * 7 as integer)
            as week_start_date,
        w.action,
        w.propensity,
        w.policy_id,
        w.is_exploration,
        w.decided_at,
        w.received_date,
        w.source_file,
        w.source_row
    from weeks as w
)

select * from final

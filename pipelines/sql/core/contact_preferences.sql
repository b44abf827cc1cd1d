-- core.contact_preferences — grain: one row per preference record (preference_ref).
-- key: preference_id = md5(preference_ref).
--
-- Opt-outs, opt-ins and preferred channel / hours, stated on a case but applying to the debtor
-- (debtor_id via the case). Kept as events: what holds on a date is the latest record per
-- debtor × channel with effective_date and received_date before it (eligibility decides).
-- window_start / window_end: 'HH:MM' local time of the debtor, as received.

with

preferences as (
    select * from staging.contact_preferences
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

final as (
    select
        md5(p.preference_ref) as preference_id,
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        p.preference_ref,
        p.creditor_ref,
        p.case_ref,
        p.effective_date,
        p.channel,
        p.preference,
        p.window_start,
        p.window_end,
        p.received_date,
        p.source_file,
        p.source_row
    from preferences as p
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

-- core.payment_plans — grain: one row per payment plan (plan_ref).
-- key: plan_id = md5(plan_ref).
--
-- From the plan's events (at most one of each: agreed, broken, completed, cancelled — the staging
-- natural key): terms from the 'agreed' row (agreed_date, plan_amount_cents, instalments,
-- first_due_date — default the agreed date —, frequency_days — default 30); each end event's date
-- and received date as its own columns, so point-in-time users can tell what was known when;
-- status / status_date / status_received_date: the latest end event in the latest data (by
-- event_date, then received_date), 'active' when there is none. A plan known only by an end event
-- keeps NULL terms. received_date: the first event's received date.

with

plan_rows as (
    select * from staging.plans
),

by_plan as (
    select
        plan_ref,
        arg_min(creditor_ref, (received_date, file_id, source_row)) as creditor_ref,
        arg_min(case_ref, (received_date, file_id, source_row)) as case_ref,
        min(event_date) filter (where event = 'agreed') as agreed_date,
        min(received_date) filter (where event = 'agreed') as agreed_received_date,
        min(plan_amount_cents) filter (where event = 'agreed') as plan_amount_cents,
        min(currency) filter (where event = 'agreed') as agreed_currency,
        min(currency) as any_currency,
        min(instalments) filter (where event = 'agreed') as instalments,
        min(first_due_date) filter (where event = 'agreed') as first_due_date,
        min(frequency_days) filter (where event = 'agreed') as frequency_days,
        min(event_date) filter (where event = 'broken') as broken_date,
        min(received_date) filter (where event = 'broken') as broken_received_date,
        min(event_date) filter (where event = 'completed') as completed_date,
        min(received_date) filter (where event = 'completed') as completed_received_date,
        min(event_date) filter (where event = 'cancelled') as cancelled_date,
        min(received_date) filter (where event = 'cancelled') as cancelled_received_date,
        arg_max(event, (event_date, received_date, file_id, source_row))
            filter (where event <> 'agreed') as last_end_event,
        arg_max(event_date, (event_date, received_date, file_id, source_row))
            filter (where event <> 'agreed') as last_end_date,
        arg_max(received_date, (event_date, received_date, file_id, source_row))
            filter (where event <> 'agreed') as last_end_received_date,
        min(received_date) as received_date,
        arg_min(source_file, (received_date, file_id, source_row)) as source_file,
        arg_min(source_row, (received_date, file_id, source_row)) as source_row
    from plan_rows
    group by plan_ref
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

final as (
    select
        md5(p.plan_ref) as plan_id,
        coalesce(c.case_id, md5(p.creditor_ref || '|' || p.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id,
        p.plan_ref,
        p.creditor_ref,
        p.case_ref,
        p.agreed_date,
        p.agreed_received_date,
        p.plan_amount_cents,
        coalesce(p.agreed_currency, p.any_currency) as currency,
        p.instalments,
        coalesce(p.first_due_date, p.agreed_date) as first_due_date,
        coalesce(p.frequency_days, 30) as frequency_days,
        coalesce(p.last_end_event, 'active') as status,
        coalesce(p.last_end_date, p.agreed_date) as status_date,
        coalesce(p.last_end_received_date, p.agreed_received_date) as status_received_date,
        p.broken_date,
        p.broken_received_date,
        p.completed_date,
        p.completed_received_date,
        p.cancelled_date,
        p.cancelled_received_date,
        p.received_date,
        p.source_file,
        p.source_row
    from by_plan as p
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

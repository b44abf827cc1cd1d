-- core.case_events — grain: one row per fact about a case, a unified log; order a case's events
-- by (event_date, event_at, received_date, source_file, source_row).
-- key: (event_type, ref, case_id) — ref is the source's own reference of the fact.
--
-- event_type (detail in brackets):
--   placement (invoice placed; ref invoice_ref, amount = invoice amount)
--   payment / reversal (ref payment_ref, signed amount; detail method)
--   action (ref action_ref; detail: the action name, else channel, then '/' direction and
--     ':' outcome when known, e.g. 'call_nudge/outbound:right_party')
--   promise (ref promise_ref, amount promised; detail the due date)
--   plan_agreed, plan_broken, plan_completed, plan_cancelled (ref plan_ref; amount on agreed)
--   dispute_opened, dispute_resolved (ref dispute_ref; detail reason / resolution)
--   complaint_opened, complaint_closed (ref complaint_ref; detail channel)
--   amount_correction, recall, closure, reopen, title_obtained (case updates; ref update_ref,
--     signed amount on corrections; detail invoice_ref)
--   <debtor event type>_start / _end, e.g. deceased_start (ref event_ref) — a debtor event is
--     logged on every case of the debtor, whichever case it was reported on.
-- event_date is a date (timestamps as their Europe/Paris date, event_at UTC when there is one);
-- received_date is the knowledge date. Not logged here: decisions, account statements,
-- remittances, fees, labels (their own tables).

with

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

placements as (
    select
        i.case_id,
        c.debtor_id,
        c.creditor_id,
        i.placed_date as event_date,
        cast(null as timestamp) as event_at,
        i.received_date,
        'placement' as event_type,
        i.amount_cents,
        i.currency,
        i.invoice_ref as ref,
        cast(null as varchar) as detail,
        i.source_file,
        i.source_row
    from core.invoices as i
    inner join cases as c using (case_id)
),

payments as (
    select
        case_id,
        debtor_id,
        creditor_id,
        paid_date,
        paid_at,
        received_date,
        case when is_reversal then 'reversal' else 'payment' end,
        amount_cents,
        currency,
        payment_ref,
        method,
        source_file,
        source_row
    from core.payments
),

actions as (
    select
        case_id,
        debtor_id,
        creditor_id,
        action_date,
        action_at,
        received_date,
        'action',
        cast(null as bigint),
        cast(null as varchar),
        action_ref,
        coalesce(action, channel) || '/' || direction || coalesce(':' || outcome, ''),
        source_file,
        source_row
    from core.actions
),

promises as (
    select
        case_id,
        debtor_id,
        creditor_id,
        made_date,
        cast(null as timestamp),
        received_date,
        'promise',
        amount_cents,
        currency,
        promise_ref,
        cast(due_date as varchar),
        source_file,
        source_row
    from core.promises
),

plan_events as (
    select
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        e.event_date,
        cast(null as timestamp),
        e.received_date,
        'plan_' || e.event,
        case when e.event = 'agreed' then e.plan_amount_cents end,
        e.currency,
        e.plan_ref,
        cast(null as varchar),
        e.source_file,
        e.source_row
    from staging.plans as e
    inner join cases as c using (creditor_ref, case_ref)
),

dispute_events as (
    select
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        e.event_date,
        cast(null as timestamp),
        e.received_date,
        'dispute_' || e.event,
        cast(null as bigint),
        cast(null as varchar),
        e.dispute_ref,
        case when e.event = 'resolved' then e.resolution else e.reason end,
        e.source_file,
        e.source_row
    from staging.disputes as e
    inner join cases as c using (creditor_ref, case_ref)
),

complaint_events as (
    select
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        e.event_date,
        cast(null as timestamp),
        e.received_date,
        'complaint_' || e.event,
        cast(null as bigint),
        cast(null as varchar),
        e.complaint_ref,
        e.channel,
        e.source_file,
        e.source_row
    from staging.complaints as e
    inner join cases as c using (creditor_ref, case_ref)
),

updates as (
    select
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        e.update_date,
        cast(null as timestamp),
        e.received_date,
        e.update_type,
        case when e.update_type = 'amount_correction' then e.amount_cents end,
        case when e.update_type = 'amount_correction' then e.currency end,
        e.update_ref,
        e.invoice_ref,
        e.source_file,
        e.source_row
    from staging.case_updates as e
    inner join cases as c using (creditor_ref, case_ref)
),

debtor_events as (
    select
        debtor_cases.case_id,
        debtor_cases.debtor_id,
        debtor_cases.creditor_id,
        e.event_date,
        cast(null as timestamp),
        e.received_date,
        e.event_type || '_' || coalesce(e.status, 'start'),
        cast(null as bigint),
        cast(null as varchar),
        e.event_ref,
        cast(null as varchar),
        e.source_file,
        e.source_row
    from staging.debtor_events as e
    inner join cases as reported using (creditor_ref, case_ref)
    inner join cases as debtor_cases on debtor_cases.debtor_id = reported.debtor_id
),

final as (
    select * from placements
    union all select * from payments
    union all select * from actions
    union all select * from promises
    union all select * from plan_events
    union all select * from dispute_events
    union all select * from complaint_events
    union all select * from updates
    union all select * from debtor_events
)

select * from final

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
    select case_id, debtor_id, creditor_id, currency from core.cases
),

placements as (
    select
        case_id,
        placed_date as event_date,
        cast(null as timestamp) as event_at,
        received_date,
        'placement' as event_type,
        amount_cents,
        currency,
        invoice_ref as ref,
        cast(null as varchar) as detail,
        source_file,
        source_row
    from core.invoices
),

payments as (
    select
        case_id,
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
        md5(creditor_ref || '|' || case_ref),
        event_date,
        cast(null as timestamp),
        received_date,
        'plan_' || event,
        case when event = 'agreed' then plan_amount_cents end,
        currency,
        plan_ref,
        cast(null as varchar),
        source_file,
        source_row
    from staging.plans
),

dispute_events as (
    select
        md5(creditor_ref || '|' || case_ref),
        event_date,
        cast(null as timestamp),
        received_date,
        'dispute_' || event,
        cast(null as bigint),
        cast(null as varchar),
        dispute_ref,
        case when event = 'resolved' then resolution else reason end,
        source_file,
        source_row
    from staging.disputes
),

complaint_events as (
    select
        md5(creditor_ref || '|' || case_ref),
        event_date,
        cast(null as timestamp),
        received_date,
        'complaint_' || event,
        cast(null as bigint),
        cast(null as varchar),
        complaint_ref,
        channel,
        source_file,
        source_row
    from staging.complaints
),

updates as (
    select
        md5(creditor_ref || '|' || case_ref),
        update_date,
        cast(null as timestamp),
        received_date,
        update_type,
        case when update_type = 'amount_correction' then amount_cents end,
        case when update_type = 'amount_correction' then currency end,
        update_ref,
        invoice_ref,
        source_file,
        source_row
    from staging.case_updates
),

debtor_events as (
    select
        debtor_cases.case_id,
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
    inner join cases as reported on reported.case_id = md5(e.creditor_ref || '|' || e.case_ref)
    inner join cases as debtor_cases on debtor_cases.debtor_id = reported.debtor_id
),

unioned as (
    select * from placements
    union all select * from payments
    union all select * from actions
    union all select * from promises
    union all select * from plan_events
    union all select * from dispute_events
    union all select * from complaint_events
    union all select * from updates
    union all select * from debtor_events
),

final as (
    select
        u.case_id,
        c.debtor_id,
        c.creditor_id,
        u.event_date,
        u.event_at,
        u.received_date,
        u.event_type,
        u.amount_cents,
        u.currency,
        u.ref,
        u.detail,
        u.source_file,
        u.source_row
    from unioned as u
    inner join cases as c using (case_id)
)

select * from final

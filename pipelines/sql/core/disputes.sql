-- core.disputes — grain: one row per dispute (dispute_ref), pairing its 'opened' and 'resolved'
-- events (at most one of each, the staging natural key).
-- key: dispute_id = md5(dispute_ref).
--
-- opened_date / opened_received_date and resolved_date / resolved_received_date are kept apart:
-- as of D a dispute is open when opened_date < D and opened_received_date < D and it is not the
-- case that resolved_date < D and resolved_received_date < D. reason: from the opening row (else
-- the resolving row); resolution from the resolving row. is_open: in the latest data. A
-- resolution without an opening keeps NULL opened dates. received_date: the first event's
-- received date; lineage: the first event's row.

with

dispute_rows as (
    select * from staging.disputes
),

by_dispute as (
    select
        dispute_ref,
        arg_min(creditor_ref, (received_date, file_id, source_row)) as creditor_ref,
        arg_min(case_ref, (received_date, file_id, source_row)) as case_ref,
        min(event_date) filter (where event = 'opened') as opened_date,
        min(received_date) filter (where event = 'opened') as opened_received_date,
        min(event_date) filter (where event = 'resolved') as resolved_date,
        min(received_date) filter (where event = 'resolved') as resolved_received_date,
        coalesce(
            min(reason) filter (where event = 'opened'),
            min(reason) filter (where event = 'resolved')
        ) as reason,
        min(resolution) filter (where event = 'resolved') as resolution,
        min(received_date) as received_date,
        arg_min(source_file, (received_date, file_id, source_row)) as source_file,
        arg_min(source_row, (received_date, file_id, source_row)) as source_row
    from dispute_rows
    group by dispute_ref
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

final as (
    select
        md5(d.dispute_ref) as dispute_id,
        coalesce(c.case_id, md5(d.creditor_ref || '|' || d.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id,
        d.dispute_ref,
        d.creditor_ref,
        d.case_ref,
        d.opened_date,
        d.opened_received_date,
        d.resolved_date,
        d.resolved_received_date,
        d.reason,
        d.resolution,
        d.opened_date is not null and d.resolved_date is null as is_open,
        d.received_date,
        d.source_file,
        d.source_row
    from by_dispute as d
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

-- core.complaints — grain: one row per complaint (complaint_ref), pairing its 'opened' and
-- 'closed' events (at most one of each, the staging natural key).
-- key: complaint_id = md5(complaint_ref).
--
-- Same conventions as core.disputes: opened_date / opened_received_date and closed_date /
-- closed_received_date apart, so "open as of D" can be told; channel and reason from the opening
-- row (else the closing row); is_open in the latest data.

with

complaint_rows as (
    select * from staging.complaints
),

by_complaint as (
    select
        complaint_ref,
        arg_min(creditor_ref, (received_date, file_id, source_row)) as creditor_ref,
        arg_min(case_ref, (received_date, file_id, source_row)) as case_ref,
        min(event_date) filter (where event = 'opened') as opened_date,
        min(received_date) filter (where event = 'opened') as opened_received_date,
        min(event_date) filter (where event = 'closed') as closed_date,
        min(received_date) filter (where event = 'closed') as closed_received_date,
        coalesce(
            min(channel) filter (where event = 'opened'),
            min(channel) filter (where event = 'closed')
        ) as channel,
        coalesce(
            min(reason) filter (where event = 'opened'), min(reason) filter (where event = 'closed')
        ) as reason,
        min(received_date) as received_date,
        arg_min(source_file, (received_date, file_id, source_row)) as source_file,
        arg_min(source_row, (received_date, file_id, source_row)) as source_row
    from complaint_rows
    group by complaint_ref
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

final as (
    select
        md5(k.complaint_ref) as complaint_id,
        coalesce(c.case_id, md5(k.creditor_ref || '|' || k.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id,
        k.complaint_ref,
        k.creditor_ref,
        k.case_ref,
        k.opened_date,
        k.opened_received_date,
        k.closed_date,
        k.closed_received_date,
        k.channel,
        k.reason,
        k.opened_date is not null and k.closed_date is null as is_open,
        k.received_date,
        k.source_file,
        k.source_row
    from by_complaint as k
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

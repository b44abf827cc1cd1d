-- core.account_status — grain: one row per case × statement month (creditor's monthly account
-- status). key: account_status_id = md5(creditor_ref || '|' || case_ref || '|' || status_month).
--
-- status_month is the 1st of the month; statement_date its last day (a statement describes the
-- whole month, so point-in-time users treat it as known from statement_date and received_date).
-- status_code: arrears status in months past due (<= 0 current).

with

statuses as (
    select * from staging.account_status
),

cases as (
    select creditor_ref, case_ref, case_id, creditor_id from core.cases
),

final as (
    select
        md5(s.creditor_ref || '|' || s.case_ref || '|' || strftime(s.status_month, '%Y-%m'))
            as account_status_id,
        coalesce(c.case_id, md5(s.creditor_ref || '|' || s.case_ref)) as case_id,
        coalesce(c.creditor_id, md5(s.creditor_ref)) as creditor_id,
        s.creditor_ref,
        s.case_ref,
        s.status_month,
        last_day(s.status_month) as statement_date,
        s.status_code,
        s.balance_cents,
        s.paid_amount_cents,
        s.currency,
        s.received_date,
        s.source_file,
        s.source_row
    from statuses as s
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

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

final as (
    select
        md5(creditor_ref || '|' || case_ref || '|' || strftime(status_month, '%Y-%m'))
            as account_status_id,
        md5(creditor_ref || '|' || case_ref) as case_id,
        md5(creditor_ref) as creditor_id,
        creditor_ref,
        case_ref,
        status_month,
        last_day(status_month) as statement_date,
        status_code,
        balance_cents,
        paid_amount_cents,
        currency,
        received_date,
        source_file,
        source_row
    from statuses
)

select * from final

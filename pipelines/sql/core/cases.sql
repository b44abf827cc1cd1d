-- core.cases — grain: one row per case (dossier), i.e. per (creditor_ref, case_ref).
-- key: case_id = md5(creditor_ref || '|' || case_ref); creditor_id = md5(creditor_ref);
-- debtor_id as in core.debtors (same identity CTEs, see debtors.sql).
--
-- placed_date / received_date: earliest over the case's invoice rows (a case can receive invoices
-- in later files). currency: the earliest row's (a case is assumed single-currency).
-- placed_amount_cents = Σ invoice amounts (all received invoices);
-- corrected_amount_cents = placed + Σ signed amount corrections (case_updates).
-- status as of the latest data: the latest recall / closure / reopen update (by update_date,
-- received_date, file_id, source_row) decides: 'recalled', 'closed', or 'open' (also when there is
-- none); closed_date is that update's date when the case is closed or recalled.
-- status_received_date: when that status became known. Payments do not close a case here (a
-- paid-in-full case stays open until the creditor or the agency closes it).

with

placements as (
    select * from staging.placements
),

updates as (
    select * from staging.case_updates
),

debtor_keys as (
    select
        creditor_ref,
        debtor_ref,
        arg_min(debtor_key, (received_date, file_id, source_row))
            filter (where debtor_key is not null) as debtor_key
    from placements
    group by creditor_ref, debtor_ref
),

case_debtors as (
    select
        creditor_ref,
        case_ref,
        arg_min(debtor_ref, (received_date, file_id, source_row)) as debtor_ref
    from placements
    group by creditor_ref, case_ref
),

case_identity as (
    select
        c.creditor_ref,
        c.case_ref,
        c.debtor_ref,
        k.debtor_key,
        md5(coalesce('key|' || k.debtor_key, 'cred|' || c.creditor_ref || '|' || c.debtor_ref))
            as debtor_id
    from case_debtors as c
    inner join debtor_keys as k using (creditor_ref, debtor_ref)
),

by_case as (
    select
        creditor_ref,
        case_ref,
        min(placed_date) as placed_date,
        min(received_date) as received_date,
        arg_min(currency, (received_date, file_id, source_row)) as currency,
        arg_min(debtor_type, (received_date, file_id, source_row)) as debtor_type,
        arg_min(arrears_status, (received_date, file_id, source_row)) as arrears_status,
        cast(sum(amount_cents) as bigint) as placed_amount_cents,
        count(*) as n_invoices,
        min(due_date) as oldest_due_date,
        arg_min(source_file, (received_date, file_id, source_row)) as source_file,
        arg_min(source_row, (received_date, file_id, source_row)) as source_row
    from placements
    group by creditor_ref, case_ref
),

corrections as (
    select
        creditor_ref,
        case_ref,
        cast(sum(amount_cents) as bigint) as correction_cents,
        count(*) as n_corrections
    from updates
    where update_type = 'amount_correction' and amount_cents is not null
    group by creditor_ref, case_ref
),

status_updates as (
    select
        creditor_ref,
        case_ref,
        arg_max(update_type, (update_date, received_date, file_id, source_row)) as last_type,
        arg_max(update_date, (update_date, received_date, file_id, source_row)) as last_date,
        arg_max(received_date, (update_date, received_date, file_id, source_row))
            as last_received_date
    from updates
    where update_type in ('recall', 'closure', 'reopen')
    group by creditor_ref, case_ref
),

final as (
    select
        md5(c.creditor_ref || '|' || c.case_ref) as case_id,
        md5(c.creditor_ref) as creditor_id,
        i.debtor_id,
        c.creditor_ref,
        c.case_ref,
        i.debtor_ref,
        i.debtor_key,
        c.debtor_type,
        c.placed_date,
        c.received_date,
        c.currency,
        c.placed_amount_cents,
        coalesce(k.correction_cents, 0) as correction_cents,
        c.placed_amount_cents + coalesce(k.correction_cents, 0) as corrected_amount_cents,
        coalesce(k.n_corrections, 0) as n_corrections,
        c.n_invoices,
        c.oldest_due_date,
        c.arrears_status,
        case s.last_type
            when 'recall' then 'recalled'
            when 'closure' then 'closed'
            else 'open'
        end as status,
        case when s.last_type in ('recall', 'closure') then s.last_date end as closed_date,
        s.last_received_date as status_received_date,
        c.source_file,
        c.source_row
    from by_case as c
    inner join case_identity as i using (creditor_ref, case_ref)
    left join corrections as k using (creditor_ref, case_ref)
    left join status_updates as s using (creditor_ref, case_ref)
)

select * from final

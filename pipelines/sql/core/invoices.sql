-- core.invoices — grain: one row per placed invoice, i.e. per
-- (creditor_ref, case_ref, invoice_ref).
-- key: invoice_id = md5(creditor_ref || '|' || case_ref || '|' || invoice_ref).
--
-- amount_cents as placed; corrected_amount_cents adds the amount corrections that name this
-- invoice (corrections without an invoice_ref stay at case level, core.cases).
-- title_date: the enforceable title's date — from the placement row, else the earliest
-- 'title_obtained' case update naming this invoice or naming no invoice (whole case);
-- title_received_date: when that title became known. due_date starts the limitation period.

with

placements as (
    select * from staging.placements
),

updates as (
    select * from staging.case_updates
),

invoice_corrections as (
    select
        creditor_ref,
        case_ref,
        invoice_ref,
        cast(sum(amount_cents) as bigint) as correction_cents
    from updates
    where
        update_type = 'amount_correction'
        and invoice_ref is not null
        and amount_cents is not null
    group by creditor_ref, case_ref, invoice_ref
),

title_updates as (
    select creditor_ref, case_ref, invoice_ref, update_date, received_date
    from updates
    where update_type = 'title_obtained'
),

invoice_titles as (
    select
        p.creditor_ref,
        p.case_ref,
        p.invoice_ref,
        arg_min(t.update_date, (t.update_date, t.received_date)) as title_date,
        arg_min(t.received_date, (t.update_date, t.received_date)) as title_received_date
    from placements as p
    inner join title_updates as t
        on
            t.creditor_ref = p.creditor_ref
            and t.case_ref = p.case_ref
            and (t.invoice_ref is null or t.invoice_ref = p.invoice_ref)
    group by p.creditor_ref, p.case_ref, p.invoice_ref
),

final as (
    select
        md5(p.creditor_ref || '|' || p.case_ref || '|' || p.invoice_ref) as invoice_id,
        md5(p.creditor_ref || '|' || p.case_ref) as case_id,
        p.creditor_ref,
        p.case_ref,
        p.invoice_ref,
        p.invoice_date,
        p.due_date,
        p.placed_date,
        p.amount_cents,
        p.amount_cents + coalesce(c.correction_cents, 0) as corrected_amount_cents,
        p.currency,
        coalesce(p.title_date, t.title_date) as title_date,
        case
            when p.title_date is not null then p.received_date else t.title_received_date
        end as title_received_date,
        p.arrears_status,
        p.received_date,
        p.source_file,
        p.source_row
    from placements as p
    left join invoice_corrections as c using (creditor_ref, case_ref, invoice_ref)
    left join invoice_titles as t using (creditor_ref, case_ref, invoice_ref)
)

select * from final

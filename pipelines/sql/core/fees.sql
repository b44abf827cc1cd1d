-- core.fees — grain: one row per fee line (fee_ref).
-- key: fee_id = md5(fee_ref).
--
-- has_title: as stated on the fee line; has_title_by_fee_date: some invoice of the case had an
-- enforceable title dated on or before fee_date (core.invoices.title_date) — what the compliance
-- tile needs for consumer cases (DOMAIN §4). debtor_type from the case.

with

fees as (
    select * from staging.fees
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id, debtor_type from core.cases
),

titles as (
    select case_id, min(title_date) as first_title_date
    from core.invoices
    where title_date is not null
    group by case_id
),

final as (
    select
        md5(f.fee_ref) as fee_id,
        c.case_id,
        c.debtor_id,
        c.creditor_id,
        c.debtor_type,
        f.fee_ref,
        f.creditor_ref,
        f.case_ref,
        f.fee_date,
        f.fee_type,
        f.amount_cents,
        f.currency,
        f.has_title,
        coalesce(t.first_title_date <= f.fee_date, false) as has_title_by_fee_date,
        f.received_date,
        f.source_file,
        f.source_row
    from fees as f
    left join cases as c using (creditor_ref, case_ref)
    left join titles as t on t.case_id = c.case_id
)

select * from final

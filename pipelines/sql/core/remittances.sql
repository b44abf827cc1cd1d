-- core.remittances — grain: one row per remitted payment, i.e. per
-- (creditor_ref, remittance_ref, payment_ref).
-- key: remittance_id = md5(creditor_ref || '|' || remittance_ref || '|' || payment_ref).
--
-- payment_id: the creditor's payment with that payment_ref — a non-reversal first, then the same
-- case, then by reporter (creditor, provider, agency). days_held = remitted_date − paid_date (the
-- encashment's Paris date); the compliance rule (one calendar month, alert day — settings) is
-- applied by the rules, not here.

with

remittances as (
    select * from staging.remittances
),

cases as (
    select creditor_ref, case_ref, case_id, creditor_id from core.cases
),

payments as (
    select payment_id, creditor_ref, case_ref, payment_ref, reported_by, is_reversal, paid_date
    from core.payments
),

matched as (
    select
        r.creditor_ref,
        r.remittance_ref,
        r.payment_ref,
        p.payment_id,
        p.paid_date
    from remittances as r
    inner join payments as p
        on p.creditor_ref = r.creditor_ref and p.payment_ref = r.payment_ref
    qualify
        row_number() over (
            partition by r.creditor_ref, r.remittance_ref, r.payment_ref
            order by p.is_reversal, (p.case_ref = r.case_ref) desc, p.reported_by
        ) = 1
),

final as (
    select
        md5(r.creditor_ref || '|' || r.remittance_ref || '|' || r.payment_ref) as remittance_id,
        coalesce(c.case_id, md5(r.creditor_ref || '|' || r.case_ref)) as case_id,
        coalesce(c.creditor_id, md5(r.creditor_ref)) as creditor_id,
        m.payment_id,
        r.remittance_ref,
        r.creditor_ref,
        r.case_ref,
        r.payment_ref,
        r.remitted_date,
        r.amount_cents,
        r.currency,
        m.paid_date,
        r.remitted_date - m.paid_date as days_held,
        r.received_date,
        r.source_file,
        r.source_row
    from remittances as r
    left join matched as m using (creditor_ref, remittance_ref, payment_ref)
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

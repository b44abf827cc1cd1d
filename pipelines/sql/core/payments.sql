-- core.payments — grain: one row per payment event as reported: a payment or a reversal
-- (chargeback, bounced cheque), i.e. per (reported_by, creditor_ref, payment_ref).
-- key: payment_id = md5(reported_by || '|' || creditor_ref || '|' || payment_ref).
--
-- amount_cents is signed (a reversal is negative), so Σ amount_cents is the net collected.
-- paid_at is UTC; paid_date is its Europe/Paris date (the as-of day boundary).
-- reverses_payment_id links a reversal to the payment it reverses: the non-reversal payment of the
-- same creditor whose payment_ref is the reversal's reverses_ref, preferring the same reporter,
-- then the same case (a payment_ref is unique per reporter only). On the reversed payment:
-- reversed_cents (Σ of its reversals, positive), reversed_date / reversed_received_date (first
-- reversal), is_reversed (any reversal), is_fully_reversed (reversed_cents >= amount_cents).
-- A payment "counts" for count-based recovery when it is not a reversal and not fully reversed.
-- Payments are assumed reported once: the same money reported by two reporters would count twice.

with

payments as (
    select
        *,
        md5(reported_by || '|' || creditor_ref || '|' || payment_ref) as payment_id,
        cast(timezone('Europe/Paris', timezone('UTC', paid_at)) as date) as paid_date
    from staging.payments
),

originals as (
    select payment_id, reported_by, creditor_ref, case_ref, payment_ref
    from payments
    where not is_reversal
),

reversal_links as (
    select
        r.payment_id,
        o.payment_id as reverses_payment_id
    from payments as r
    inner join originals as o
        on o.creditor_ref = r.creditor_ref and o.payment_ref = r.reverses_ref
    where r.is_reversal
    qualify
        row_number() over (
            partition by r.payment_id
            order by
                (o.reported_by = r.reported_by) desc,
                (o.case_ref = r.case_ref) desc,
                o.reported_by
        ) = 1
),

linked as (
    select
        p.*,
        l.reverses_payment_id
    from payments as p
    left join reversal_links as l using (payment_id)
),

reversals_of as (
    select
        reverses_payment_id as payment_id,
        cast(-sum(amount_cents) as bigint) as reversed_cents,
        min(paid_date) as reversed_date,
        min(received_date) as reversed_received_date
    from linked
    where reverses_payment_id is not null
    group by reverses_payment_id
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

final as (
    select
        p.payment_id,
        coalesce(c.case_id, md5(p.creditor_ref || '|' || p.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id,
        p.reported_by,
        p.creditor_ref,
        p.case_ref,
        p.payment_ref,
        p.paid_at,
        p.paid_date,
        p.amount_cents,
        p.currency,
        p.is_reversal,
        p.reverses_ref,
        p.reverses_payment_id,
        coalesce(r.reversed_cents, 0) as reversed_cents,
        r.reversed_cents is not null as is_reversed,
        coalesce(r.reversed_cents >= p.amount_cents, false) as is_fully_reversed,
        r.reversed_date,
        r.reversed_received_date,
        p.method,
        p.received_date,
        p.source_file,
        p.source_row
    from linked as p
    left join reversals_of as r using (payment_id)
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

-- core.promises — grain: one row per promise to pay (promise_ref).
-- key: promise_id = md5(promise_ref); action_id = md5(action_ref) of the contact it was made on.
--
-- paid_by_due_cents: Σ signed payments (reversals net) on the case with
-- made_date <= paid_date <= due_date, in the latest data. The grace days are a setting SQL does
-- not see, so is_kept uses a grace of 0 (paid_by_due_cents >= amount_cents); rules that apply a
-- grace recompute from core.payments. kept_date: the paid_date on which the running net total
-- since made_date first reached the amount (NULL when not kept by due_date).
-- Several promises on one case may count the same payment (each is judged on its own window).

with

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

promises as (
    select
        p.*,
        md5(p.promise_ref) as promise_id,
        coalesce(c.case_id, md5(p.creditor_ref || '|' || p.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id
    from staging.promises as p
    left join cases as c using (creditor_ref, case_ref)
),

window_payments as (
    select
        pr.promise_id,
        pr.amount_cents as promised_cents,
        pay.paid_date,
        pay.amount_cents,
        sum(pay.amount_cents) over (
            partition by pr.promise_id
            order by pay.paid_at, pay.payment_id
            rows between unbounded preceding and current row
        ) as running_cents
    from promises as pr
    inner join core.payments as pay
        on
            pay.case_id = pr.case_id
            and pay.paid_date between pr.made_date and pr.due_date
),

paid as (
    select
        promise_id,
        cast(sum(amount_cents) as bigint) as paid_by_due_cents,
        min(paid_date) filter (where running_cents >= promised_cents) as kept_date
    from window_payments
    group by promise_id
),

final as (
    select
        pr.promise_id,
        pr.case_id,
        pr.debtor_id,
        pr.creditor_id,
        pr.promise_ref,
        pr.creditor_ref,
        pr.case_ref,
        pr.made_date,
        pr.due_date,
        pr.amount_cents,
        pr.currency,
        coalesce(p.paid_by_due_cents, 0) as paid_by_due_cents,
        coalesce(p.paid_by_due_cents, 0) >= pr.amount_cents as is_kept,
        case when coalesce(p.paid_by_due_cents, 0) >= pr.amount_cents then p.kept_date end
            as kept_date,
        case when pr.action_ref is not null then md5(pr.action_ref) end as action_id,
        pr.action_ref,
        pr.received_date,
        pr.source_file,
        pr.source_row
    from promises as pr
    left join paid as p using (promise_id)
)

select * from final

-- core.plan_instalments — grain: one row per plan × instalment_no (1 … instalments).
-- key: (plan_id, instalment_no); instalment_id = md5(plan_ref || '|' || instalment_no).
--
-- Generated from the plan's terms (plans without an amount or a positive number of instalments
-- have none): due_date = first_due_date + (instalment_no − 1) × frequency_days;
-- amount_cents = plan_amount_cents // instalments, the remainder on the last instalment, so the
-- instalments sum exactly to plan_amount_cents.
-- Payment: the case's payments from the agreed date on (signed, reversals net) are applied to the
-- instalments in order; an instalment is paid on the first paid_date at which their running total
-- reaches the plan's cumulated amount due through it (paid_date), known from paid_received_date
-- (the latest received date among the payments counted so far); is_paid_on_time: paid_date <=
-- due_date. A later reversal does not un-pay an instalment; payments after the plan ended still
-- count (the plan's status says whether it ended). received_date / source_file / source_row are
-- the plan agreement's (the schedule is known once the agreement is).

with

plans as (
    select *
    from core.payment_plans
    where
        plan_amount_cents is not null
        and instalments > 0
        and first_due_date is not null
),

numbered as (
    select
        plan_id,
        plan_ref,
        case_id,
        agreed_date,
        plan_amount_cents,
        currency,
        instalments,
        first_due_date,
        frequency_days,
        agreed_received_date,
        source_file,
        source_row,
        unnest(range(1, instalments + 1)) as instalment_no
    from plans
),

instalments as (
    select
        *,
        plan_amount_cents // instalments as base_cents,
        cast(first_due_date + cast((instalment_no - 1) * frequency_days as integer) as date)
            as due_date
    from numbered
),

amounts as (
    select
        *,
        case
            when instalment_no = instalments
                then plan_amount_cents - base_cents * (instalments - 1)
            else base_cents
        end as amount_cents,
        case
            when instalment_no = instalments then plan_amount_cents
            else base_cents * instalment_no
        end as due_through_cents
    from instalments
),

plan_payments as (
    select
        pl.plan_id,
        pay.paid_date,
        sum(pay.amount_cents) over w as paid_running_cents,
        max(pay.received_date) over w as known_by_date,
        row_number() over w as payment_seq
    from plans as pl
    inner join core.payments as pay
        on pay.case_id = pl.case_id and pay.paid_date >= pl.agreed_date
    window w as (
        partition by pl.plan_id
        order by pay.paid_at, pay.payment_id
        rows between unbounded preceding and current row
    )
),

instalment_paid as (
    select
        a.plan_id,
        a.instalment_no,
        arg_min(pp.paid_date, pp.payment_seq) as paid_date,
        arg_min(pp.known_by_date, pp.payment_seq) as paid_received_date
    from amounts as a
    inner join plan_payments as pp
        on pp.plan_id = a.plan_id and pp.paid_running_cents >= a.due_through_cents
    group by a.plan_id, a.instalment_no
),

final as (
    select
        md5(a.plan_ref || '|' || a.instalment_no) as instalment_id,
        a.plan_id,
        a.case_id,
        a.plan_ref,
        a.instalment_no,
        a.instalments,
        a.due_date,
        a.amount_cents,
        a.due_through_cents,
        a.currency,
        p.paid_date,
        p.paid_received_date,
        coalesce(p.paid_date <= a.due_date, false) as is_paid_on_time,
        a.agreed_received_date as received_date,
        a.source_file,
        a.source_row
    from amounts as a
    left join instalment_paid as p using (plan_id, instalment_no)
)

select * from final

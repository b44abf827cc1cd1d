-- marts.limitation(as_of, consumer_years, business_years, judgment_years, alert_days) — the body
-- of a table macro: limitation deadlines (prescription, DOMAIN §4) as known at as_of.
-- grain: one row per invoice known at as_of. key: invoice_id.
--
-- basis: 'judgment' when an enforceable title is known (title_date < as_of and received before),
-- else the debtor type: 'consumer' (individual, Code de la consommation L218-2) or 'business'
-- (Code de commerce L110-4). The period starts at the due date (the title's date for a judgment)
-- and restarts at the last acknowledgement known (Code civil 2240): a part payment not known to
-- be fully reversed, or an agreed payment plan (a written acknowledgement). A formal notice does
-- not restart it; nor does a promise made on the phone (an oral acknowledgement we could not
-- prove). deadline_date = start_date + the basis's years; a case is time-barred when all its
-- invoices are (case_deadline_date ≤ as_of). is_alert: deadline within alert_days of as_of.
-- The figures are the macro's arguments; a build records its defaults in marts.rule_settings.

with

invoices_known as (
    select
        i.invoice_id,
        i.case_id,
        c.debtor_id,
        c.creditor_id,
        c.creditor_ref,
        c.case_ref,
        i.invoice_ref,
        c.debtor_type,
        i.due_date,
        case
            when i.title_date < cast(as_of as date) and i.title_received_date < cast(as_of as date)
                then i.title_date
        end as title_date
    from core.invoices as i
    inner join core.cases as c using (case_id)
    where i.placed_date < cast(as_of as date) and i.received_date < cast(as_of as date)
),

acknowledgements as (
    select case_id, paid_date as acknowledged_date
    from core.payments
    where
        not is_reversal
        and paid_date < cast(as_of as date)
        and received_date < cast(as_of as date)
        and not coalesce(
            is_fully_reversed
            and reversed_date < cast(as_of as date)
            and reversed_received_date < cast(as_of as date),
            false
        )
    union all
    select case_id, agreed_date
    from core.payment_plans
    where agreed_date < cast(as_of as date) and agreed_received_date < cast(as_of as date)
),

last_acknowledgement as (
    select case_id, max(acknowledged_date) as last_acknowledged_date
    from acknowledgements
    group by case_id
),

dated as (
    select
        i.*,
        a.last_acknowledged_date,
        case
            when i.title_date is not null then 'judgment'
            when i.debtor_type = 'business' then 'business'
            else 'consumer'
        end as basis,
        greatest(coalesce(i.title_date, i.due_date), a.last_acknowledged_date) as start_date
    from invoices_known as i
    left join last_acknowledgement as a using (case_id)
),

deadlines as (
    select
        invoice_id,
        case_id,
        debtor_id,
        creditor_id,
        creditor_ref,
        case_ref,
        invoice_ref,
        debtor_type,
        cast(as_of as date) as as_of,
        basis,
        due_date,
        title_date,
        last_acknowledged_date,
        start_date,
        cast(
            start_date + to_years(
                cast(
                    case basis
                        when 'judgment' then judgment_years
                        when 'business' then business_years
                        else consumer_years
                    end as integer
                )
            ) as date
        ) as deadline_date
    from dated
),

final as (
    select
        *,
        max(deadline_date) over (partition by case_id) as case_deadline_date,
        deadline_date - cast(as_of as date) as days_to_deadline,
        deadline_date <= cast(as_of as date) as is_time_barred,
        deadline_date > cast(as_of as date)
        and deadline_date - cast(as_of as date) <= alert_days as is_alert
    from deadlines
)

select * from final

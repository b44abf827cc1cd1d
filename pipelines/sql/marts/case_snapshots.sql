-- marts.case_snapshots(as_of) — the single point-in-time implementation (DESIGN §8); this file is
-- the body of the table macro. as_of is a DATE (text is cast); the day boundary is 00:00
-- Europe/Paris, and every *_date of core is already a Paris date.
-- grain: one row per case known at as_of (placed_date < as_of and received_date < as_of).
-- key: (case_id, as_of).
--
-- Knowledge rule: a fact is used only when its event date < as_of AND its received date < as_of
-- (invoices: placed_date / received_date; payments: paid_date; actions: action_date; promises:
-- made_date; updates, plan, dispute and complaint events: their own date; account statements:
-- statement_date, the month's last day; contact points: first_seen_date, and an invalidation only
-- once its own dates are < as_of; debtor events: the episode's start and end dates). Each event
-- table is aggregated once with that filter and joined on case_id (or debtor_id).
--
-- Column notes:
--   placed_amount_cents: Σ invoices known; correction_cents: Σ amount corrections known;
--   corrected_amount_cents = placed + corrections; collected_cents: Σ signed payments known
--   (reversals net; gross_collected_cents and reversed_cents apart); balance_cents =
--   corrected − collected. n_payments counts non-reversal payments, n_reversals reversals.
--   days_since_due: from the oldest due date of the known invoices.
--   has_valid_phone / has_valid_mobile / has_valid_email: the debtor (all cases) has such a
--   contact point known and not known to be invalid.
--   <channel>_attempts, <tone>_attempts: outbound attempts so far; *_30d: action_date in
--   [as_of − 30, as_of). inbound_contacts; right_party_contacts (either direction).
--   first_letter_ref / first_letter_date: the first outbound letter (quoted in later contacts).
--   promises: made (made_date < as_of); kept = payments known dated in [made_date, due_date]
--   reach the amount; broken = not kept and due_date < as_of (grace 0); pending = not kept, not
--   yet due. latest_unkept_promise_due_date lets the rules apply the grace days (a setting).
--   plan_*: the latest plan agreed before as_of (by agreed_date); plan_status 'none' when there
--   is none, else the latest of its end events known (completed > cancelled > broken on a tie),
--   'active' when none is known; plan_due_to_date_cents: its instalments due before as_of;
--   plan_paid_cents: payments known since its agreed date (good standing: active and paid ≥ due).
--   has_open_dispute / has_open_complaint: opened and not resolved / closed as known at as_of.
--   observed_cause: the latest cause stated on a known contact, 'unknown' when none.
--   last_status_code: the creditor's latest known arrears status code.
--   case_status: the latest known recall / closure / reopen update ('open' without one);
--   is_open = case_status = 'open'.
--   is_over_indebted, is_insolvent, is_deceased, is_represented, is_vulnerable: a debtor event
--   episode of that type active at as_of (reported on any case of the debtor).
--   debtor_cases / debtor_open_cases: the debtor's cases in this snapshot (all creditors).

with

known_cases as (
    select
        case_id,
        debtor_id,
        creditor_id,
        creditor_ref,
        case_ref,
        debtor_type,
        currency,
        placed_date
    from core.cases
    where placed_date < cast(as_of as date) and received_date < cast(as_of as date)
),

invoices_known as (
    select
        case_id,
        cast(sum(amount_cents) as bigint) as placed_amount_cents,
        count(*) as n_invoices,
        min(due_date) as oldest_due_date,
        bool_or(
            coalesce(
                title_date < cast(as_of as date) and title_received_date < cast(as_of as date),
                false
            )
        ) as has_title
    from core.invoices
    where placed_date < cast(as_of as date) and received_date < cast(as_of as date)
    group by case_id
),

updates_known as (
    select
        case_id,
        cast(coalesce(sum(amount_cents) filter (where event_type = 'amount_correction'), 0)
            as bigint) as correction_cents,
        arg_max(event_type, (event_date, received_date, source_file, source_row))
            filter (where event_type in ('recall', 'closure', 'reopen')) as last_status_event,
        arg_max(event_date, (event_date, received_date, source_file, source_row))
            filter (where event_type in ('recall', 'closure', 'reopen')) as last_status_date
    from core.case_events
    where
        event_type in ('amount_correction', 'recall', 'closure', 'reopen')
        and event_date < cast(as_of as date)
        and received_date < cast(as_of as date)
    group by case_id
),

payments_known as (
    select case_id, paid_date, amount_cents, is_reversal
    from core.payments
    where paid_date < cast(as_of as date) and received_date < cast(as_of as date)
),

payments_by_case as (
    select
        case_id,
        cast(sum(amount_cents) as bigint) as collected_cents,
        cast(coalesce(sum(amount_cents) filter (where not is_reversal), 0) as bigint)
            as gross_collected_cents,
        cast(coalesce(-sum(amount_cents) filter (where is_reversal), 0) as bigint)
            as reversed_cents,
        count(*) filter (where not is_reversal) as n_payments,
        count(*) filter (where is_reversal) as n_reversals,
        min(paid_date) filter (where not is_reversal) as first_payment_date,
        max(paid_date) filter (where not is_reversal) as last_payment_date
    from payments_known
    group by case_id
),

actions_by_case as (
    select
        case_id,
        count_if(is_attempt) as attempts,
        count_if(is_attempt and channel = 'sms') as sms_attempts,
        count_if(is_attempt and channel = 'email') as email_attempts,
        count_if(is_attempt and channel = 'call') as call_attempts,
        count_if(is_attempt and channel = 'letter') as letter_attempts,
        count_if(is_attempt and channel = 'visit') as visit_attempts,
        count_if(is_attempt and tone = 'nudge') as nudge_attempts,
        count_if(is_attempt and tone = 'formal') as formal_attempts,
        count_if(is_attempt and tone = 'notice') as notice_attempts,
        count_if(is_attempt and is_recent) as attempts_30d,
        count_if(is_attempt and is_recent and channel = 'sms') as sms_attempts_30d,
        count_if(is_attempt and is_recent and channel = 'email') as email_attempts_30d,
        count_if(is_attempt and is_recent and channel = 'call') as call_attempts_30d,
        count_if(is_attempt and is_recent and channel = 'letter') as letter_attempts_30d,
        count_if(is_attempt and is_recent and channel = 'visit') as visit_attempts_30d,
        count_if(is_attempt and is_recent and tone = 'nudge') as nudge_attempts_30d,
        count_if(is_attempt and is_recent and tone = 'formal') as formal_attempts_30d,
        count_if(is_attempt and is_recent and tone = 'notice') as notice_attempts_30d,
        count_if(not is_attempt) as inbound_contacts,
        count_if(is_right_party_contact) as right_party_contacts,
        count_if(is_right_party_contact and is_recent) as right_party_contacts_30d,
        max(action_date) filter (where is_attempt) as last_action_date,
        max(action_date) filter (where is_right_party_contact) as last_right_party_date
    from (
        select
            case_id,
            channel,
            tone,
            action_date,
            is_attempt,
            is_right_party_contact,
            action_date >= cast(as_of as date) - 30 as is_recent
        from core.actions
        where action_date < cast(as_of as date) and received_date < cast(as_of as date)
    )
    group by case_id
),

-- the few actions that carry a cause or are letters, ordered deterministically (a struct key on
-- every action would cost more than a second, filtered scan)
action_firsts as (
    select
        case_id,
        arg_max(observed_cause, (action_at, action_id))
            filter (where observed_cause is not null) as latest_observed_cause,
        arg_min(letter_ref, (action_at, action_id))
            filter (where is_attempt and channel = 'letter') as first_letter_ref,
        arg_min(action_date, (action_at, action_id))
            filter (where is_attempt and channel = 'letter') as first_letter_date
    from core.actions
    where
        action_date < cast(as_of as date)
        and received_date < cast(as_of as date)
        and (observed_cause is not null or (is_attempt and channel = 'letter'))
    group by case_id
),

promises_known as (
    select promise_id, case_id, made_date, due_date, amount_cents
    from core.promises
    where made_date < cast(as_of as date) and received_date < cast(as_of as date)
),

promise_payments as (
    select
        pr.promise_id,
        cast(sum(p.amount_cents) as bigint) as paid_cents
    from promises_known as pr
    inner join payments_known as p
        on p.case_id = pr.case_id and p.paid_date between pr.made_date and pr.due_date
    group by pr.promise_id
),

promise_states as (
    select
        pr.case_id,
        pr.due_date,
        coalesce(pp.paid_cents, 0) >= pr.amount_cents as is_kept
    from promises_known as pr
    left join promise_payments as pp using (promise_id)
),

promises_by_case as (
    select
        case_id,
        count(*) as promises_made,
        count(*) filter (where is_kept) as promises_kept,
        count(*) filter (where not is_kept and due_date < cast(as_of as date))
            as promises_broken,
        count(*) filter (where not is_kept and due_date >= cast(as_of as date))
            as promises_pending,
        max(due_date) filter (where not is_kept) as latest_unkept_promise_due_date,
        max(due_date) filter (where not is_kept and due_date < cast(as_of as date))
            as last_broken_promise_date
    from promise_states
    group by case_id
),

plans_known as (
    select
        plan_id,
        case_id,
        agreed_date,
        plan_amount_cents,
        case
            when broken_date < cast(as_of as date) and broken_received_date < cast(as_of as date)
                then broken_date
        end as broken_known_date,
        case
            when
                completed_date < cast(as_of as date)
                and completed_received_date < cast(as_of as date)
                then completed_date
        end as completed_known_date,
        case
            when
                cancelled_date < cast(as_of as date)
                and cancelled_received_date < cast(as_of as date)
                then cancelled_date
        end as cancelled_known_date
    from core.payment_plans
    where agreed_date < cast(as_of as date) and agreed_received_date < cast(as_of as date)
),

plan_states as (
    select
        *,
        case
            when greatest(broken_known_date, completed_known_date, cancelled_known_date) is null
                then 'active'
            when
                completed_known_date
                = greatest(broken_known_date, completed_known_date, cancelled_known_date)
                then 'completed'
            when
                cancelled_known_date
                = greatest(broken_known_date, completed_known_date, cancelled_known_date)
                then 'cancelled'
            else 'broken'
        end as status
    from plans_known
),

plans_by_case as (
    select
        case_id,
        count(*) as n_plans,
        count(*) filter (where status = 'broken') as n_plans_broken,
        arg_max(plan_id, (agreed_date, plan_id)) as plan_id,
        arg_max(status, (agreed_date, plan_id)) as plan_status,
        max(agreed_date) as plan_agreed_date,
        arg_max(plan_amount_cents, (agreed_date, plan_id)) as plan_amount_cents
    from plan_states
    group by case_id
),

plan_due as (
    select
        i.plan_id,
        cast(sum(i.amount_cents) as bigint) as plan_due_to_date_cents
    from core.plan_instalments as i
    inner join plans_by_case as pc using (plan_id)
    where i.due_date < cast(as_of as date)
    group by i.plan_id
),

plan_paid as (
    select
        pc.plan_id,
        cast(sum(p.amount_cents) as bigint) as plan_paid_cents
    from plans_by_case as pc
    inner join payments_known as p
        on p.case_id = pc.case_id and p.paid_date >= pc.plan_agreed_date
    group by pc.plan_id
),

disputes_by_case as (
    select
        case_id,
        count(*) as n_disputes,
        bool_or(
            not coalesce(
                resolved_date < cast(as_of as date)
                and resolved_received_date < cast(as_of as date),
                false
            )
        ) as has_open_dispute
    from core.disputes
    where opened_date < cast(as_of as date) and opened_received_date < cast(as_of as date)
    group by case_id
),

complaints_by_case as (
    select
        case_id,
        count(*) as n_complaints,
        bool_or(
            not coalesce(
                closed_date < cast(as_of as date) and closed_received_date < cast(as_of as date),
                false
            )
        ) as has_open_complaint
    from core.complaints
    where opened_date < cast(as_of as date) and opened_received_date < cast(as_of as date)
    group by case_id
),

statements_by_case as (
    select
        case_id,
        arg_max(status_code, status_month) filter (where status_code is not null)
            as last_status_code,
        max(status_month) as last_status_month
    from core.account_status
    where statement_date < cast(as_of as date) and received_date < cast(as_of as date)
    group by case_id
),

contact_points_by_debtor as (
    select
        debtor_id,
        bool_or(channel = 'phone') as has_valid_phone,
        bool_or(channel = 'phone' and phone_type = 'mobile') as has_valid_mobile,
        bool_or(channel = 'email') as has_valid_email
    from core.contact_points
    where
        first_seen_date < cast(as_of as date)
        and received_date < cast(as_of as date)
        and not coalesce(
            invalidated_date < cast(as_of as date)
            and invalidated_received_date < cast(as_of as date),
            false
        )
    group by debtor_id
),

debtor_events_by_debtor as (
    select
        debtor_id,
        bool_or(event_type = 'over_indebtedness') as is_over_indebted,
        bool_or(event_type = 'insolvency') as is_insolvent,
        bool_or(event_type = 'deceased') as is_deceased,
        bool_or(event_type = 'represented') as is_represented,
        bool_or(event_type = 'vulnerable') as is_vulnerable
    from core.debtor_events
    where
        start_date < cast(as_of as date)
        and start_received_date < cast(as_of as date)
        and not coalesce(
            end_date < cast(as_of as date) and end_received_date < cast(as_of as date), false
        )
    group by debtor_id
),

debtor_cases as (
    select
        k.debtor_id,
        count(*) as debtor_cases,
        count_if(coalesce(u.last_status_event, 'reopen') = 'reopen') as debtor_open_cases
    from known_cases as k
    left join updates_known as u using (case_id)
    group by k.debtor_id
),

joined as (
    select
        k.case_id,
        k.debtor_id,
        k.creditor_id,
        cast(as_of as date) as as_of,
        k.creditor_ref,
        k.case_ref,
        cr.sector,
        k.debtor_type,
        k.currency,
        k.placed_date,
        coalesce(i.placed_amount_cents, 0) as placed_amount_cents,
        coalesce(i.n_invoices, 0) as n_invoices,
        coalesce(u.correction_cents, 0) as correction_cents,
        coalesce(i.placed_amount_cents, 0) + coalesce(u.correction_cents, 0)
            as corrected_amount_cents,
        coalesce(p.collected_cents, 0) as collected_cents,
        coalesce(p.gross_collected_cents, 0) as gross_collected_cents,
        coalesce(p.reversed_cents, 0) as reversed_cents,
        coalesce(i.placed_amount_cents, 0)
        + coalesce(u.correction_cents, 0)
        - coalesce(p.collected_cents, 0) as balance_cents,
        coalesce(p.n_payments, 0) as n_payments,
        coalesce(p.n_reversals, 0) as n_reversals,
        p.first_payment_date,
        p.last_payment_date,
        cast(as_of as date) - k.placed_date as days_since_placement,
        i.oldest_due_date,
        cast(as_of as date) - i.oldest_due_date as days_since_due,
        cast(as_of as date) - p.last_payment_date as days_since_last_payment,
        coalesce(i.has_title, false) as has_title,
        coalesce(cp.has_valid_phone, false) as has_valid_phone,
        coalesce(cp.has_valid_mobile, false) as has_valid_mobile,
        coalesce(cp.has_valid_email, false) as has_valid_email,
        coalesce(a.attempts, 0) as attempts,
        coalesce(a.sms_attempts, 0) as sms_attempts,
        coalesce(a.email_attempts, 0) as email_attempts,
        coalesce(a.call_attempts, 0) as call_attempts,
        coalesce(a.letter_attempts, 0) as letter_attempts,
        coalesce(a.visit_attempts, 0) as visit_attempts,
        coalesce(a.nudge_attempts, 0) as nudge_attempts,
        coalesce(a.formal_attempts, 0) as formal_attempts,
        coalesce(a.notice_attempts, 0) as notice_attempts,
        coalesce(a.attempts_30d, 0) as attempts_30d,
        coalesce(a.sms_attempts_30d, 0) as sms_attempts_30d,
        coalesce(a.email_attempts_30d, 0) as email_attempts_30d,
        coalesce(a.call_attempts_30d, 0) as call_attempts_30d,
        coalesce(a.letter_attempts_30d, 0) as letter_attempts_30d,
        coalesce(a.visit_attempts_30d, 0) as visit_attempts_30d,
        coalesce(a.nudge_attempts_30d, 0) as nudge_attempts_30d,
        coalesce(a.formal_attempts_30d, 0) as formal_attempts_30d,
        coalesce(a.notice_attempts_30d, 0) as notice_attempts_30d,
        coalesce(a.inbound_contacts, 0) as inbound_contacts,
        coalesce(a.right_party_contacts, 0) as right_party_contacts,
        coalesce(a.right_party_contacts_30d, 0) as right_party_contacts_30d,
        a.last_action_date,
        cast(as_of as date) - a.last_action_date as days_since_last_action,
        a.last_right_party_date,
        af.first_letter_ref,
        af.first_letter_date,
        coalesce(pr.promises_made, 0) as promises_made,
        coalesce(pr.promises_kept, 0) as promises_kept,
        coalesce(pr.promises_broken, 0) as promises_broken,
        coalesce(pr.promises_pending, 0) as promises_pending,
        pr.latest_unkept_promise_due_date,
        pr.last_broken_promise_date,
        coalesce(pl.n_plans, 0) as n_plans,
        coalesce(pl.n_plans_broken, 0) as n_plans_broken,
        coalesce(pl.plan_status, 'none') as plan_status,
        pl.plan_agreed_date,
        pl.plan_amount_cents,
        case when pl.plan_id is not null then coalesce(pd.plan_due_to_date_cents, 0) end
            as plan_due_to_date_cents,
        case when pl.plan_id is not null then coalesce(pp.plan_paid_cents, 0) end
            as plan_paid_cents,
        coalesce(d.n_disputes, 0) as n_disputes,
        coalesce(d.has_open_dispute, false) as has_open_dispute,
        coalesce(c.n_complaints, 0) as n_complaints,
        coalesce(c.has_open_complaint, false) as has_open_complaint,
        coalesce(af.latest_observed_cause, 'unknown') as observed_cause,
        s.last_status_code,
        s.last_status_month,
        case u.last_status_event
            when 'recall' then 'recalled'
            when 'closure' then 'closed'
            else 'open'
        end as case_status,
        case when u.last_status_event in ('recall', 'closure') then u.last_status_date end
            as closed_date,
        coalesce(de.is_over_indebted, false) as is_over_indebted,
        coalesce(de.is_insolvent, false) as is_insolvent,
        coalesce(de.is_deceased, false) as is_deceased,
        coalesce(de.is_represented, false) as is_represented,
        coalesce(de.is_vulnerable, false) as is_vulnerable,
        dc.debtor_cases,
        dc.debtor_open_cases
    from known_cases as k
    inner join debtor_cases as dc using (debtor_id)
    inner join core.creditors as cr using (creditor_id)
    left join invoices_known as i using (case_id)
    left join updates_known as u using (case_id)
    left join payments_by_case as p using (case_id)
    left join actions_by_case as a using (case_id)
    left join action_firsts as af using (case_id)
    left join promises_by_case as pr using (case_id)
    left join plans_by_case as pl using (case_id)
    left join plan_due as pd on pd.plan_id = pl.plan_id
    left join plan_paid as pp on pp.plan_id = pl.plan_id
    left join disputes_by_case as d using (case_id)
    left join complaints_by_case as c using (case_id)
    left join statements_by_case as s using (case_id)
    left join contact_points_by_debtor as cp using (debtor_id)
    left join debtor_events_by_debtor as de using (debtor_id)
),

final as (
    select
        * exclude (debtor_cases, debtor_open_cases),
        case_status = 'open' as is_open,
        debtor_cases,
        debtor_open_cases
    from joined
)

select * from final

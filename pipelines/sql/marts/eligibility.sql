-- marts.eligibility(as_of, …figures) — the body of a table macro: who may be contacted in the
-- week from as_of, how, and why not (DOMAIN §4, DESIGN §9). The recommender and the plan both
-- read it; nothing else decides eligibility. Figures are the macro's named arguments (a build's
-- defaults come from relance.toml; pipelines.rules.eligibility passes the current ones).
-- grain: one row per case known at as_of (marts.case_snapshots). key: case_id.
--
-- exclusion_reasons: every case-level exclusion that holds, in pipelines.rules.EXCLUSION_REASONS
-- order; primary_reason: the first of them; is_excluded: any. A case with one is never contacted
-- (only wait). is_specialist: a reported vulnerability on an open case — routed to the specialist
-- queue (case reference and 'specialist' only), never to the standard lists.
--   plan_in_good_standing: the latest plan is active and paid at least what has fallen due;
--   promise_pending: an unkept promise whose due date + promise_grace_days is not past;
--   nothing_due: balance ≤ 0; time_barred: every known invoice past its limitation deadline.
-- Per channel (a debtor's opt-out counts across all cases and creditors — GDPR Art. 21):
--   can_call: a valid phone number, no call opt-out; can_sms: a valid mobile, no SMS opt-out;
--   can_email: a valid address, no e-mail opt-out; can_letter: a postal address, no letter opt-out.
--   channel_blocks: 'call:no_valid_phone', 'sms:opt_out', … for each blocked channel.
-- Budget (marts.contact_budget, per debtor, repeated on each of the debtor's cases):
--   outbound_remaining, next_call_date, call_attempts_remaining.
-- allow_<action>: the eight actions of DESIGN §5 allowed this week; wait always. Outbound actions
-- need no exclusion, the channel and outbound_remaining > 0; calls also call_attempts_remaining
-- > 0; formal_notice also a nudge on the case before (tone ladder, when
-- formal_notice_requires_nudge) and then needs_approval (a recorded human decision, GDPR Art. 22).
-- allowed_actions: the allowed ones as a list, in DESIGN §5 order.
-- preferred_call_start / _end: the debtor's latest stated call window (local time), honoured
-- when the plan places a call.

with

snapshots as (
    select * from marts.case_snapshots(as_of)
),

limitation_by_case as (
    select
        case_id,
        max(deadline_date) as limitation_date,
        bool_and(is_time_barred) as is_time_barred
    from marts.limitation(
        as_of,
        consumer_years := consumer_years,
        business_years := business_years,
        judgment_years := judgment_years,
        alert_days := alert_days
    )
    group by case_id
),

budget as (
    select * from marts.contact_budget(
        as_of,
        max_calls_per_day := max_calls_per_day,
        max_outbound_per_7_days := max_outbound_per_7_days,
        quiet_days := quiet_days
    )
),

preferences_known as (
    select *
    from core.contact_preferences
    where effective_date < cast(as_of as date) and received_date < cast(as_of as date)
),

opt_outs as (
    select
        debtor_id,
        bool_or(channel = 'call') as opted_out_call,
        bool_or(channel = 'sms') as opted_out_sms,
        bool_or(channel = 'email') as opted_out_email,
        bool_or(channel = 'letter') as opted_out_letter
    from preferences_known
    where preference = 'opt_out'
    group by debtor_id
),

call_preferences as (
    select
        debtor_id,
        arg_max(window_start, effective_date) as preferred_call_start,
        arg_max(window_end, effective_date) as preferred_call_end
    from preferences_known
    where preference = 'preferred' and channel = 'call' and window_start is not null
    group by debtor_id
),

flagged as (
    select
        s.case_id,
        s.debtor_id,
        s.creditor_id,
        s.creditor_ref,
        s.case_ref,
        s.debtor_type,
        s.as_of,
        s.balance_cents,
        s.currency,
        d.tz,
        d.department,
        s.case_status = 'closed' as is_closed,
        s.case_status = 'recalled' as is_recalled,
        s.is_deceased,
        s.is_over_indebted,
        s.is_insolvent,
        s.is_vulnerable,
        s.is_represented,
        coalesce(l.is_time_barred, false) as is_time_barred,
        s.has_open_dispute,
        s.plan_status = 'active' and s.plan_paid_cents >= s.plan_due_to_date_cents
            as is_plan_in_good_standing,
        coalesce(
            s.latest_unkept_promise_due_date + cast(promise_grace_days as integer)
            >= cast(as_of as date),
            false
        ) as is_promise_pending,
        s.balance_cents <= 0 as is_nothing_due,
        l.limitation_date,
        s.has_valid_phone and not coalesce(o.opted_out_call, false) as can_call,
        s.has_valid_mobile and not coalesce(o.opted_out_sms, false) as can_sms,
        s.has_valid_email and not coalesce(o.opted_out_email, false) as can_email,
        d.address_line is not null and not coalesce(o.opted_out_letter, false) as can_letter,
        list_concat(
            case
                when not s.has_valid_phone then ['call:no_valid_phone']
                when o.opted_out_call then ['call:opt_out']
                else []
            end,
            case
                when not s.has_valid_mobile then ['sms:no_valid_mobile']
                when o.opted_out_sms then ['sms:opt_out']
                else []
            end,
            case
                when not s.has_valid_email then ['email:no_valid_email']
                when o.opted_out_email then ['email:opt_out']
                else []
            end,
            case
                when d.address_line is null then ['letter:no_address']
                when o.opted_out_letter then ['letter:opt_out']
                else []
            end
        ) as channel_blocks,
        s.nudge_attempts > 0 as has_nudge,
        b.outbound_remaining,
        b.next_call_date,
        b.call_attempts_remaining,
        b.last_conversation_date,
        p.preferred_call_start,
        p.preferred_call_end,
        s.first_letter_ref,
        s.first_letter_date,
        s.last_action_date,
        s.last_broken_promise_date
    from snapshots as s
    inner join core.debtors as d using (debtor_id)
    left join limitation_by_case as l using (case_id)
    left join budget as b using (debtor_id)
    left join opt_outs as o using (debtor_id)
    left join call_preferences as p using (debtor_id)
),

reasoned as (
    select
        *,
        list_filter(
            [
                case when is_closed then 'closed' end,
                case when is_recalled then 'recalled' end,
                case when is_deceased then 'deceased' end,
                case when is_over_indebted then 'over_indebtedness' end,
                case when is_insolvent then 'insolvency' end,
                case when is_vulnerable then 'vulnerable' end,
                case when is_represented then 'represented' end,
                case when is_time_barred then 'time_barred' end,
                case when has_open_dispute then 'open_dispute' end,
                case when is_plan_in_good_standing then 'plan_in_good_standing' end,
                case when is_promise_pending then 'promise_pending' end,
                case when is_nothing_due then 'nothing_due' end
            ],
            lambda r: r is not null
        ) as exclusion_reasons
    from flagged
),

allowed as (
    select
        *,
        len(exclusion_reasons) > 0 as is_excluded,
        exclusion_reasons[1] as primary_reason,
        is_vulnerable and not (is_closed or is_recalled or is_deceased) as is_specialist,
        len(exclusion_reasons) = 0 and outbound_remaining > 0 as may_contact
    from reasoned
),

decided as (
    select
        case_id,
        debtor_id,
        creditor_id,
        creditor_ref,
        case_ref,
        debtor_type,
        as_of,
        tz,
        department,
        balance_cents,
        currency,
        is_excluded,
        primary_reason,
        exclusion_reasons,
        is_specialist,
        can_call,
        can_sms,
        can_email,
        can_letter,
        channel_blocks,
        outbound_remaining,
        next_call_date,
        call_attempts_remaining,
        last_conversation_date,
        preferred_call_start,
        preferred_call_end,
        limitation_date,
        limitation_date - cast(as_of as date) as days_to_limitation,
        limitation_date > cast(as_of as date)
        and limitation_date - cast(as_of as date) <= alert_days as is_limitation_alert,
        true as allow_wait,
        may_contact and can_sms as allow_sms_nudge,
        may_contact and can_email as allow_email_nudge,
        may_contact and can_email as allow_email_formal,
        may_contact and can_call and call_attempts_remaining > 0 as allow_call_nudge,
        may_contact and can_call and call_attempts_remaining > 0 as allow_call_formal,
        may_contact and can_letter as allow_letter_formal,
        may_contact and can_letter and (has_nudge or not formal_notice_requires_nudge)
            as allow_formal_notice,
        cast(formal_notice_requires_approval as boolean) as formal_notice_needs_approval,
        first_letter_ref,
        first_letter_date,
        last_action_date,
        last_broken_promise_date
    from allowed
),

final as (
    select
        *,
        list_filter(
            [
                'wait',
                case when allow_sms_nudge then 'sms_nudge' end,
                case when allow_email_nudge then 'email_nudge' end,
                case when allow_email_formal then 'email_formal' end,
                case when allow_call_nudge then 'call_nudge' end,
                case when allow_call_formal then 'call_formal' end,
                case when allow_letter_formal then 'letter_formal' end,
                case when allow_formal_notice then 'formal_notice' end
            ],
            lambda a: a is not null
        ) as allowed_actions
    from decided
)

select * from final

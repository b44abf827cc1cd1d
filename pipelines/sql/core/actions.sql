-- core.actions — grain: one row per contact attempt or contact (inbound included), per action_ref.
-- key: action_id = md5(action_ref).
--
-- action_at is UTC; action_date its Europe/Paris date. direction defaults to 'outbound'.
-- action: the DESIGN §5 action name of an outbound attempt — sms → sms_nudge (any tone),
-- email nudge/formal → email_nudge/email_formal, call nudge/formal → call_nudge/call_formal,
-- letter formal → letter_formal, letter notice → formal_notice; NULL for inbound contacts, visits
-- and any other channel × tone (e.g. an e-mail or a call without a tone).
-- is_attempt: outbound (every outbound attempt counts for the contact caps, answered or not).
-- is_right_party_contact: outcome 'right_party' (the verified debtor was reached, either
-- direction; 'callback_requested' is not counted).

with

actions as (
    select * from staging.actions
),

cases as (
    select creditor_ref, case_ref, case_id, debtor_id, creditor_id from core.cases
),

typed as (
    select
        *,
        md5(action_ref) as action_id,
        cast(timezone('Europe/Paris', timezone('UTC', action_at)) as date) as action_date,
        coalesce(direction, 'outbound') as direction_or_default
    from actions
),

final as (
    select
        a.action_id,
        coalesce(c.case_id, md5(a.creditor_ref || '|' || a.case_ref)) as case_id,
        c.debtor_id,
        c.creditor_id,
        a.action_ref,
        a.creditor_ref,
        a.case_ref,
        a.action_at,
        a.action_date,
        a.channel,
        a.tone,
        a.direction_or_default as direction,
        a.outcome,
        case
            when a.direction_or_default <> 'outbound' then null
            when a.channel = 'sms' then 'sms_nudge'
            when a.channel = 'email' and a.tone = 'nudge' then 'email_nudge'
            when a.channel = 'email' and a.tone = 'formal' then 'email_formal'
            when a.channel = 'call' and a.tone = 'nudge' then 'call_nudge'
            when a.channel = 'call' and a.tone = 'formal' then 'call_formal'
            when a.channel = 'letter' and a.tone = 'formal' then 'letter_formal'
            when a.channel = 'letter' and a.tone = 'notice' then 'formal_notice'
        end as action,
        a.direction_or_default = 'outbound' as is_attempt,
        coalesce(a.outcome = 'right_party', false) as is_right_party_contact,
        a.observed_cause,
        a.phone,
        a.letter_ref,
        a.agent_ref,
        a.received_date,
        a.source_file,
        a.source_row
    from typed as a
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

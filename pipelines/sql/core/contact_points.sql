-- core.contact_points — grain: one row per debtor × channel × value (a phone number in E.164 or
-- an e-mail address). key: contact_point_id = md5(debtor_id || '|' || channel || '|' || value).
--
-- Sources: the placements' phone, phone_2 and email, and the numbers the agency dialled or texted
-- (actions.phone: numbers found by contact research). Staging already turned unparseable phones
-- and e-mails into NULL, so every value here was valid when received.
-- first_seen_date: earliest placement date / action date (Paris) that carried the value;
-- received_date: earliest received date (the knowledge date; staging guarantees
-- first_seen_date <= received_date of each sighting).
-- Invalidation (the first evidence that the value does not reach the debtor):
--   phone: an action on that number with outcome 'wrong_party', or an SMS 'failed'/'bounced';
--   email: an e-mail action with outcome 'bounced' on any case of the debtor, for every address of
--   that debtor first seen on or before the action date (actions do not name the address).
-- invalidated_date / invalidated_received_date date that evidence; is_valid = no such evidence
-- in the latest data (point-in-time users compare both dates with their as-of date). A later
-- successful contact does not re-validate a value.

with

placements as (
    select * from staging.placements
),

actions as (
    select
        *,
        cast(timezone('Europe/Paris', timezone('UTC', action_at)) as date) as action_date
    from staging.actions
),

debtor_keys as (
    select
        creditor_ref,
        debtor_ref,
        arg_min(debtor_key, (received_date, file_id, source_row))
            filter (where debtor_key is not null) as debtor_key
    from placements
    group by creditor_ref, debtor_ref
),

case_debtors as (
    select
        creditor_ref,
        case_ref,
        arg_min(debtor_ref, (received_date, file_id, source_row)) as debtor_ref
    from placements
    group by creditor_ref, case_ref
),

case_identity as (
    select
        c.creditor_ref,
        c.case_ref,
        c.debtor_ref,
        k.debtor_key,
        md5(coalesce('key|' || k.debtor_key, 'cred|' || c.creditor_ref || '|' || c.debtor_ref))
            as debtor_id
    from case_debtors as c
    inner join debtor_keys as k using (creditor_ref, debtor_ref)
),

sightings as (
    select
        i.debtor_id,
        v.channel,
        v.value,
        p.placed_date as seen_date,
        p.received_date,
        'placement' as source,
        p.source_file,
        p.source_row,
        p.file_id
    from placements as p
    inner join case_identity as i using (creditor_ref, case_ref)
    cross join lateral (
        values ('phone', p.phone), ('phone', p.phone_2), ('email', p.email)
    ) as v (channel, value)
    where v.value is not null

    union all

    select
        i.debtor_id,
        'phone' as channel,
        a.phone as value,
        a.action_date as seen_date,
        a.received_date,
        'action' as source,
        a.source_file,
        a.source_row,
        a.file_id
    from actions as a
    inner join case_identity as i using (creditor_ref, case_ref)
    where a.phone is not null
),

points as (
    select
        debtor_id,
        channel,
        value,
        min(seen_date) as first_seen_date,
        min(received_date) as received_date,
        arg_min(source, (received_date, seen_date, file_id, source_row)) as source,
        arg_min(source_file, (received_date, seen_date, file_id, source_row)) as source_file,
        arg_min(source_row, (received_date, seen_date, file_id, source_row)) as source_row,
        count(*) as n_sightings
    from sightings
    group by debtor_id, channel, value
),

phone_failures as (
    select
        phone as value,
        i.debtor_id,
        min(action_date) as invalidated_date,
        min(a.received_date) as invalidated_received_date
    from actions as a
    inner join case_identity as i using (creditor_ref, case_ref)
    where
        a.phone is not null
        and (
            a.outcome = 'wrong_party'
            or (a.channel = 'sms' and a.outcome in ('failed', 'bounced'))
        )
    group by a.phone, i.debtor_id
),

email_bounces as (
    select
        i.debtor_id,
        a.action_date,
        a.received_date
    from actions as a
    inner join case_identity as i using (creditor_ref, case_ref)
    where a.channel = 'email' and a.outcome = 'bounced'
),

email_failures as (
    select
        p.debtor_id,
        p.value,
        min(b.action_date) as invalidated_date,
        min(b.received_date) as invalidated_received_date
    from points as p
    inner join email_bounces as b
        on b.debtor_id = p.debtor_id and b.action_date >= p.first_seen_date
    where p.channel = 'email'
    group by p.debtor_id, p.value
),

phone_types as (
    select value, phone_type(value) as phone_type
    from (select distinct value from points where channel = 'phone')
),

failures as (
    select debtor_id, 'phone' as channel, value, invalidated_date, invalidated_received_date
    from phone_failures
    union all
    select debtor_id, 'email' as channel, value, invalidated_date, invalidated_received_date
    from email_failures
),

final as (
    select
        md5(p.debtor_id || '|' || p.channel || '|' || p.value) as contact_point_id,
        p.debtor_id,
        p.channel,
        p.value,
        t.phone_type,
        f.invalidated_date is null as is_valid,
        p.first_seen_date,
        p.received_date,
        f.invalidated_date,
        f.invalidated_received_date,
        p.source,
        p.n_sightings,
        p.source_file,
        p.source_row
    from points as p
    left join failures as f using (debtor_id, channel, value)
    left join phone_types as t on p.channel = 'phone' and t.value = p.value
)

select * from final

-- core.debtors — grain: one row per debtor (person or company), across cases and creditors.
-- key: debtor_id =
--   md5(coalesce('key|' || debtor_key, 'cred|' || creditor_ref || '|' || debtor_ref)).
--
-- Identity: a debtor with cases at several creditors is one debtor when the placements carry the
-- same agency-wide debtor_key (dedup key or SIREN); without a key, a debtor is a creditor's own
-- customer reference. The key of a (creditor_ref, debtor_ref) is its earliest non-empty
-- debtor_key (by received_date, file_id, source_row), so a key sent only in a later file still
-- joins the earlier cases; a case's debtor is the debtor_ref of its earliest placement row.
-- The same three CTEs (debtor_keys, case_debtors, case_identity) appear in contact_points.sql and
-- cases.sql and must stay identical.
--
-- Attributes (type, name, address) are the latest non-empty values over all the debtor's placement
-- rows. department: '971'…'978' / '98x' from the postcode (97133 Saint-Barthélemy → '977',
-- 97150 Saint-Martin → '978'), Corsica '2A' (200xx–201xx) / '2B' (202xx–206xx), else the first
-- two digits; a four-digit postcode is read with its lost leading zero; a foreign country gives
-- NULL. tz: the department's IANA zone, Europe/Paris otherwise (also abroad: the team's zone).

with

placements as (
    select * from staging.placements
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

debtor_rows as (
    select
        i.debtor_id,
        i.debtor_key,
        p.*
            exclude (debtor_key),
        (p.received_date, p.file_id, p.source_row) as row_order
    from placements as p
    inner join case_identity as i using (creditor_ref, case_ref)
),

by_debtor as (
    select
        debtor_id,
        any_value(debtor_key) as debtor_key,
        arg_max(debtor_type, row_order) filter (where debtor_type is not null) as debtor_type,
        arg_max(debtor_name, row_order) filter (where debtor_name is not null) as display_name,
        arg_max(address_line, row_order) filter (where address_line is not null) as address_line,
        arg_max(postcode, row_order) filter (where postcode is not null) as postcode_raw,
        arg_max(city, row_order) filter (where city is not null) as city,
        upper(arg_max(country, row_order) filter (where country is not null)) as country,
        arg_min(creditor_ref, row_order) as first_creditor_ref,
        arg_min(debtor_ref, row_order) as first_debtor_ref,
        min(placed_date) as first_placed_date,
        min(received_date) as first_received_date,
        count(distinct (creditor_ref, case_ref)) as n_cases,
        count(distinct creditor_ref) as n_creditors
    from debtor_rows
    group by debtor_id
),

located as (
    select
        *,
        case
            when regexp_full_match(postcode_raw, '[0-9]{4}') then '0' || postcode_raw
            else postcode_raw
        end as postcode,
        coalesce(country, 'FR') in (
            'FR', 'FRA', 'FRANCE', 'GP', 'MQ', 'GF', 'RE', 'PM', 'YT', 'BL', 'MF'
        ) as is_french
    from by_debtor
),

departments as (
    select
        *,
        case
            when not is_french then null
            when regexp_full_match(postcode, '[0-9]{5}') then
                case
                    when postcode = '97133' then '977'
                    when postcode = '97150' then '978'
                    when left(postcode, 2) in ('97', '98') then left(postcode, 3)
                    when left(postcode, 2) = '20' then
                        case when postcode < '20200' then '2A' else '2B' end
                    else left(postcode, 2)
                end
            when country = 'GP' then '971'
            when country = 'MQ' then '972'
            when country = 'GF' then '973'
            when country = 'RE' then '974'
            when country = 'PM' then '975'
            when country = 'YT' then '976'
            when country = 'BL' then '977'
            when country = 'MF' then '978'
        end as department
    from located
),

final as (
    select
        debtor_id,
        debtor_key,
        debtor_type,
        display_name,
        address_line,
        postcode,
        city,
        coalesce(country, 'FR') as country,
        department,
        case department
            when '971' then 'America/Guadeloupe'
            when '972' then 'America/Martinique'
            when '973' then 'America/Cayenne'
            when '974' then 'Indian/Reunion'
            when '975' then 'America/Miquelon'
            when '976' then 'Indian/Mayotte'
            when '977' then 'America/St_Barthelemy'
            when '978' then 'America/Marigot'
            when '986' then 'Pacific/Wallis'
            when '987' then 'Pacific/Tahiti'
            when '988' then 'Pacific/Noumea'
            else 'Europe/Paris'
        end as tz,
        first_creditor_ref,
        first_debtor_ref,
        first_placed_date,
        first_received_date,
        n_cases,
        n_creditors
    from departments
)

select * from final

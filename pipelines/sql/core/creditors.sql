-- core.creditors — grain: one row per creditor (the agency's client).
-- key: creditor_id = md5(creditor_ref); creditor_ref is unique.
-- name and sector are the latest non-empty values of the creditor's placement rows (latest by
-- received_date, file_id, source_row); a creditor without a stated sector is 'other', without a
-- name shows its ref. Every creditor_ref of other kinds is one of these (staging quarantines
-- rows naming an unknown case).

with

placements as (
    select * from staging.placements
),

by_creditor as (
    select
        creditor_ref,
        arg_max(creditor_name, (received_date, file_id, source_row))
            filter (where creditor_name is not null) as latest_name,
        arg_max(creditor_sector, (received_date, file_id, source_row))
            filter (where creditor_sector is not null) as latest_sector,
        min(placed_date) as first_placed_date,
        min(received_date) as first_received_date,
        count(distinct case_ref) as n_cases
    from placements
    group by creditor_ref
),

final as (
    select
        md5(creditor_ref) as creditor_id,
        creditor_ref,
        coalesce(latest_name, creditor_ref) as name,
        coalesce(latest_sector, 'other') as sector,
        first_placed_date,
        first_received_date,
        n_cases
    from by_creditor
)

select * from final

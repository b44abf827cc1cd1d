-- marts.limitation_deadlines — limitation deadlines per invoice as of the build's reference date
-- (the day after the last received file), from marts.limitation with this build's figures.
-- grain: one row per invoice. key: invoice_id.

with

reference as (
    select cast(max(received_date) + 1 as date) as as_of from raw.files
),

final as (
    select *
    from marts.limitation((select as_of from reference))
)

select * from final

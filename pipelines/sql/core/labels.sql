-- core.labels — grain: one row per case × label × observed_date (outcomes known outside the
-- ledger). key: label_id = md5(creditor_ref || '|' || case_ref || '|' || label || '|' ||
-- observed_date).

with

labels as (
    select * from staging.labels
),

final as (
    select
        md5(creditor_ref || '|' || case_ref || '|' || label || '|' || cast(observed_date as varchar))
            as label_id,
        md5(creditor_ref || '|' || case_ref) as case_id,
        creditor_ref,
        case_ref,
        label,
        observed_date,
        value,
        received_date,
        source_file,
        source_row
    from labels
)

select * from final

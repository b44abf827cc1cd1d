-- core.labels — grain: one row per case × label × observed_date (outcomes known outside the
-- ledger). key: label_id = md5(creditor_ref || '|' || case_ref || '|' || label || '|' ||
-- observed_date).

with

labels as (
    select * from staging.labels
),

cases as (
    select creditor_ref, case_ref, case_id from core.cases
),

final as (
    select
        md5(
            l.creditor_ref || '|' || l.case_ref || '|' || l.label || '|'
            || cast(l.observed_date as varchar)
        ) as label_id,
        coalesce(c.case_id, md5(l.creditor_ref || '|' || l.case_ref)) as case_id,
        l.creditor_ref,
        l.case_ref,
        l.label,
        l.observed_date,
        l.value,
        l.received_date,
        l.source_file,
        l.source_row
    from labels as l
    left join cases as c using (creditor_ref, case_ref)
)

select * from final

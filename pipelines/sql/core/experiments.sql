-- core.experiments — grain: one row per experiment × randomised unit.
-- key: experiment_unit_id = md5(experiment_ref || '|' || unit_ref).
--
-- features: JSON text of the file's other columns (kept as received). The unit is the source's
-- ref (a case, a debtor, a letter…); it is not resolved to our ids.

with

experiments as (
    select * from staging.experiments
),

final as (
    select
        md5(experiment_ref || '|' || unit_ref) as experiment_unit_id,
        experiment_ref,
        unit_ref,
        arm,
        propensity,
        outcome,
        amount_cents,
        currency,
        observed_date,
        features,
        received_date,
        source_file,
        source_row
    from experiments
)

select * from final

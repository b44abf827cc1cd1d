-- staging.experiments: Analysis input: randomised tests (unit, arm, propensity, outcome, amount);
-- every other column of the file is kept as a feature.
--
-- One row per raw.experiments row: lineage (file_id, source_row, source_file, received_date), the
-- canonical columns typed (pipelines/kinds.py) and reject_reason, checked in this order (the first
-- failing check wins):
--   malformed_row, missing_required, scientific_notation, bad_amount, inexact_amount, bad_date,
--   bad_number, bad_currency, date_after_received, duplicate_row, conflicting_duplicate.
-- Natural key (experiment_ref, unit_ref): among otherwise valid rows the earliest (received_date,
-- file_id, source_row) is kept; a later row is a duplicate_row when all its typed canonical values
-- equal the kept row's, else a conflicting_duplicate.
-- This select leaves those two reasons out: the build marks them on the written table
-- (pipelines/warehouse.py, duplicates_marked), so the typed rows are computed once.
-- Money: <column>_cents (bigint) with one currency (the row's currency column, else the
-- file's, else build.default_currency), which must be three letters.
-- No case: experiments name units, not cases (no unknown_case check). propensity must lie
-- in (0, 1] (bad_number). features: the file's extra columns as JSON text (raw.extra).

with

files as (
    select
        file_id,
        source_file,
        received_date,
        coalesce(decimal_mark, '.') as decimal_mark,
        coalesce(thousands_sep, '') as thousands_sep,
        date_format,
        coalesce(upper(clean_text(currency)), default_currency()) as file_currency
    from raw.files
),

source as (
    select
        r.file_id,
        r.source_row,
        f.source_file,
        f.received_date,
        r.reader_error,
        clean_text(r.experiment_ref) as experiment_ref,
        clean_text(r.unit_ref) as unit_ref,
        clean_text(r.arm) as arm,
        clean_text(r.propensity) as propensity_text,
        clean_text(r.outcome) as outcome_text,
        clean_text(r.amount) as amount_text,
        clean_text(r.observed_date) as observed_date_text,
        coalesce(upper(clean_text(r.currency)), f.file_currency) as currency,
        r.extra as features,
        f.decimal_mark,
        f.thousands_sep,
        f.date_format
    from raw.experiments as r
    left join files as f using (file_id)
),

typed as (
    select
        s.*,
        parse_float(s.propensity_text, s.decimal_mark, s.thousands_sep) as propensity,
        parse_float(s.outcome_text, s.decimal_mark, s.thousands_sep) as outcome,
        parse_cents(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_cents,
        money_error(s.amount_text, s.decimal_mark, s.thousands_sep) as amount_error,
        parse_date(s.observed_date_text, s.date_format) as observed_date
    from source as s
),

checked as (
    select
        t.*,
        case
            when t.reader_error is not null
                then 'malformed_row'
            when t.experiment_ref is null
                or t.unit_ref is null
                or t.arm is null
                or t.propensity_text is null
                or t.outcome_text is null
                then 'missing_required'
            when is_scientific(t.experiment_ref)
                or is_scientific(t.unit_ref)
                or is_scientific(t.arm)
                then 'scientific_notation'
            when t.amount_error is not null
                then t.amount_error
            when (t.observed_date is null and t.observed_date_text is not null)
                then 'bad_date'
            when (t.propensity is null and t.propensity_text is not null)
                or (t.outcome is null and t.outcome_text is not null)
                or t.propensity <= 0 or t.propensity > 1
                then 'bad_number'
            when not regexp_full_match(t.currency, '[A-Z]{3}')
                then 'bad_currency'
            when t.observed_date > t.received_date
                then 'date_after_received'
        end as failed_check
    from typed as t
),

final as (
    select
        file_id,
        source_row,
        source_file,
        received_date,
        experiment_ref,
        unit_ref,
        arm,
        propensity,
        outcome,
        amount_cents,
        currency,
        observed_date,
        features,
        failed_check as reject_reason
    from checked
)

select * from final

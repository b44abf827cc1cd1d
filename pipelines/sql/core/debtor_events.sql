-- core.debtor_events — grain: one row per debtor × event_type × episode. An episode is a start
-- (over-indebtedness admitted, insolvency opened, deceased, represented, vulnerable) up to the
-- next end; the same start reported again before an end — typically on another case of the same
-- debtor — joins the open episode; an end with no open episode is an episode of its own with a
-- NULL start.
-- key: debtor_event_id = md5(debtor_id || '|' || event_type || '|' || first event_ref).
--
-- debtor_id comes via the case the event was reported on (core.cases); the event applies to all
-- of the debtor's cases. start_date / start_received_date: earliest start and earliest received
-- start of the episode; end_date / end_received_date: its end. As of D an episode is active when
-- start_date < D and start_received_date < D and not (end_date < D and end_received_date < D).
-- Rows are ordered by event_date, starts before ends on the same day, then received_date.

with

event_rows as (
    select
        e.*,
        coalesce(e.status, 'start') as status_or_default,
        c.debtor_id,
        c.case_id
    from staging.debtor_events as e
    inner join core.cases as c using (creditor_ref, case_ref)
),

ordered as (
    select
        *,
        lag(status_or_default) over (
            partition by debtor_id, event_type
            order by event_date, status_or_default = 'end', received_date, file_id, source_row
        ) as previous_status
    from event_rows
),

episodes as (
    select
        *,
        sum(
            case
                when coalesce(previous_status, 'end') = 'end' then 1
                else 0
            end
        ) over (
            partition by debtor_id, event_type
            order by event_date, status_or_default = 'end', received_date, file_id, source_row
            rows between unbounded preceding and current row
        ) as episode_no,
        (event_date, status_or_default = 'end', received_date, file_id, source_row) as row_order
    from ordered
),

by_episode as (
    select
        debtor_id,
        event_type,
        episode_no,
        arg_min(event_ref, row_order) as first_event_ref,
        arg_min(case_id, row_order) as case_id,
        min(event_date) filter (where status_or_default = 'start') as start_date,
        min(received_date) filter (where status_or_default = 'start') as start_received_date,
        min(event_date) filter (where status_or_default = 'end') as end_date,
        min(received_date) filter (where status_or_default = 'end') as end_received_date,
        count(*) as n_reports,
        min(received_date) as received_date,
        arg_min(source_file, row_order) as source_file,
        arg_min(source_row, row_order) as source_row
    from episodes
    group by debtor_id, event_type, episode_no
),

final as (
    select
        md5(debtor_id || '|' || event_type || '|' || first_event_ref) as debtor_event_id,
        debtor_id,
        event_type,
        case_id as reported_case_id,
        first_event_ref as event_ref,
        start_date,
        start_received_date,
        end_date,
        end_received_date,
        start_date is not null and end_date is null as is_active,
        n_reports,
        received_date,
        source_file,
        source_row
    from by_episode
)

select * from final

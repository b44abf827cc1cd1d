-- marts.compliance_tiles — the tiles that must read 0 (DOMAIN §3), from marts.compliance_breaches.
-- grain: one row per tile, always all six (0 when nothing breached). key: tile.

with

tiles as (
    select * from (
        values
        (1, 'contact_cap', 'Contact-cap breaches',
            'Outbound attempts beyond the per-debtor caps (calls a day, outbound in 7 days, quiet days after a conversation), across cases and creditors'),
        (2, 'out_of_window', 'Attempts outside the calling window',
            'Attempts outside the debtor''s calling window in local time, on a day off or a public holiday of the debtor''s department'),
        (3, 'excluded_contact', 'Contacts to excluded debtors',
            'Attempts on a day the case was excluded: open dispute, over-indebtedness, insolvency, deceased, represented, vulnerable, closed, promise pending, opt-out'),
        (4, 'late_remittance', 'Funds held beyond a month',
            'Remittances to the creditor more than one calendar month after encashment (CPCE R124-4)'),
        (5, 'consumer_fee', 'Fees on consumer cases without a title',
            'Fee lines on an individual''s case without an enforceable title (CPCE L111-8)'),
        (6, 'time_barred_worked', 'Time-barred cases still worked',
            'Attempts on a case whose every invoice was past its limitation deadline')
    ) as t (position, tile, label, description)
),

counts as (
    select tile, count(*) as breaches, count(distinct debtor_id) as debtors
    from marts.compliance_breaches
    group by tile
),

final as (
    select
        t.position,
        t.tile,
        t.label,
        coalesce(c.breaches, 0) as breaches,
        coalesce(c.debtors, 0) as debtors,
        t.description
    from tiles as t
    left join counts as c using (tile)
    order by t.position
)

select * from final

-- Parsing macros for the staging layer (pipelines/sql/README.md).
--
-- Each macro parses text written in a file's dialect (raw.files: decimal_mark, thousands_sep,
-- date_format, datetime_format, timezone) and returns NULL when the text cannot be parsed; the
-- staging file then names the reason. Empty or blank text is NULL. The date and date-time formats
-- are exactly those of pipelines/mappings/formats.py: DuckDB's strptime needs a constant format,
-- so each parser switches over them with CASE (tests check every format is handled). The
-- settings defaults default_currency(), default_timezone() and default_phone_region() are
-- created by pipelines/normalise.py.
--
-- Blank characters trimmed everywhere: space, tab, CR, LF, no-break space U+00A0 and narrow
-- no-break space U+202F.


-- text -------------------------------------------------------------------------------------------

-- the blank characters, as one string
create or replace macro _blanks() as ' ' || chr(9) || chr(10) || chr(13) || chr(160) || chr(8239);

-- trimmed text; empty -> NULL
-- (trim with a character set is slow, so it only runs on text whose first or last character is
-- a blank; looking them up is 4x faster than a regular expression: 28 M values in 0.35 s)
create or replace macro clean_text(txt) as nullif(
    case
        when contains(_blanks(), txt[1]) or contains(_blanks(), txt[-1])
            then trim(txt, _blanks())
        else txt
    end,
    ''
);

-- trimmed, lower-cased text for enum values (the staging file checks the allowed list)
create or replace macro clean_enum(txt) as lower(clean_text(txt));

-- a value a spreadsheet turned into scientific notation: 1.00E+05, 6,12E+08, 1E+11, 1.5E3.
-- A digit string with a bare E and no sign ("2024E001") is not taken for one: refs look like it.
-- (blanks around it allowed by the pattern itself: no clean_text needed)
create or replace macro is_scientific(txt) as regexp_full_match(
    txt,
    '[ \t\r\n\x{00A0}\x{202F}]*[-+]?[0-9]+([.,][0-9]*[eE][-+]?|[eE][-+])[0-9]+'
    || '[ \t\r\n\x{00A0}\x{202F}]*'
);

-- lower-cased e-mail address, or NULL when it does not look like one ("mailto:" dropped)
create or replace macro clean_email(txt) as (
    case
        when regexp_full_match(
            regexp_replace(lower(clean_text(txt)), '^mailto:', ''),
            '[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*'
            || '@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}'
        )
            then regexp_replace(lower(clean_text(txt)), '^mailto:', '')
    end
);

-- an ISO 4217 code (three letters, upper-cased) or NULL
create or replace macro clean_currency(txt) as (
    case when regexp_full_match(upper(clean_text(txt)), '[A-Z]{3}') then upper(clean_text(txt)) end
);

-- true/false, 1/0, yes/no, oui/non, o/n, y/n, t/f, vrai/faux (any case) or NULL
-- (one list lookup: two IN lists became two hash joins per row set, each cleaning the text again)
create or replace macro parse_bool(txt) as (
    [true, true, true, true, true, true, true, true, false, false, false, false, false, false, false][
        list_position(
            ['true', '1', 'yes', 'y', 'oui', 'o', 't', 'vrai', 'false', '0', 'no', 'n', 'non', 'f', 'faux'],
            clean_enum(txt)
        )
    ]
);


-- numbers and money ------------------------------------------------------------------------------
--
-- A number is normalised to canonical text '[-]digits[.digits][e[+-]digits]' or NULL:
--   * blanks (space, NBSP, narrow NBSP, tab) anywhere are grouping separators;
--   * the file's thousands separator is accepted only between groups of three digits
--     (1.234.567,89), the decimal mark at most once;
--   * a leading '+' or '-', a trailing '-' (1234,56-) and parentheses ((12,50)) give the sign;
--   * for money, a '€' or 'EUR' (any case) before or after the number is dropped;
--   * scientific notation (1.00E+05, 1,5E+03) is accepted without grouping.
-- Placeholders ';' (decimal mark) and ':' (grouping) are used internally, so text already
-- containing either is refused.

-- sign and body of a number whose currency symbol has been dropped
create or replace macro _number_sign(t) as (
    case when regexp_matches(t, '^-|-$|^\(.*\)$') then '-' else '' end
);
create or replace macro _number_body(t) as
    trim(regexp_replace(t, '^[-+(] ?|( ?[-)])$', '', 'g'));

-- body with the decimal mark as ';' and every grouping character as ':'
create or replace macro _number_marks(body, decimal_mark, thousands_sep) as replace(
    case
        when coalesce(thousands_sep, '') in ('', ' ', chr(160), chr(8239))
            then replace(body, coalesce(decimal_mark, '.'), ';')
        else replace(
            replace(body, coalesce(decimal_mark, '.'), ';'), thousands_sep, ':'
        )
    end,
    ' ',
    ':'
);

create or replace macro _number_canon_of(t, decimal_mark, thousands_sep) as list_transform(
    [
        {
            'refused': regexp_matches(t, '[:;]'),
            'sign': _number_sign(t),
            'marks': _number_marks(_number_body(t), decimal_mark, thousands_sep)
        }
    ],
    lambda p: case
        when not p.refused
            and regexp_full_match(
                p.marks,
                '[0-9]+(;[0-9]*)?|;[0-9]+|[0-9]{1,3}(:[0-9]{3})+(;[0-9]*)?'
                || '|[0-9]+(;[0-9]*)?[eE][-+]?[0-9]{1,4}'
            )
            then p.sign || replace(replace(p.marks, ':', ''), ';', '.')
    end
)[1];

-- blanks collapsed to one space
create or replace macro _blank_collapsed(txt) as
    regexp_replace(clean_text(txt), '[ \t\x{00A0}\x{202F}]+', ' ', 'g');

-- canonical number text (see above), or NULL
create or replace macro number_canon(txt, decimal_mark, thousands_sep) as
    _number_canon_of(_blank_collapsed(txt), decimal_mark, thousands_sep);

-- canonical money text: a number with an optional '€' / 'EUR' before or after it
create or replace macro money_canon(txt, decimal_mark, thousands_sep) as _number_canon_of(
    regexp_replace(
        regexp_replace(_blank_collapsed(txt), '^([-+(]?) ?(€|eur) ?', '\1', 'i'),
        ' ?(€|eur) ?([-)]?)$',
        '\2',
        'i'
    ),
    decimal_mark,
    thousands_sep
);

-- decimals needed to write a canonical number exactly (1.50 -> 1, 1.23456e+02 -> 3, 1e5 -> 0)
create or replace macro _canon_decimals(canon) as greatest(
    0,
    length(rtrim(regexp_extract(canon, '\.([0-9]*)', 1), '0'))
    - coalesce(try_cast(regexp_extract(canon, '[eE]([-+]?[0-9]+)$', 1) as integer), 0)
);

-- cents of a canonical number exact to the cent (fits a bigint), else NULL
create or replace macro _canon_cents(canon) as list_transform(
    [canon],
    lambda c: case
        when _canon_decimals(c) <= 2
            then (try_cast(c as decimal(18, 2))::decimal(38, 2) * 100)::bigint
    end
)[1];

-- Fast paths for the common shapes, one constant pattern each (the general parser above uses
-- several regular expressions and is kept for the rest):
--   plain:   -1234,56 / 1234.5 / 12 (the decimal mark only);
--   grouped: 1 234,56 / 1.234,56 / 1'234.50 (the file's thousands separator and no-break spaces
--            are turned into spaces first).
-- The "_cents" patterns allow at most two decimals besides trailing zeros (exact to the cent).
create or replace macro _plain_number(t, decimal_mark, decimals) as (
    case
        when coalesce(decimal_mark, '.') = ',' and decimals = 'cents'
            then regexp_full_match(t, '-?[0-9]{1,13}(,[0-9]{0,2}0*)?')
        when coalesce(decimal_mark, '.') = ','
            then regexp_full_match(t, '-?[0-9]{1,13}(,[0-9]*)?')
        when decimals = 'cents' then regexp_full_match(t, '-?[0-9]{1,13}(\.[0-9]{0,2}0*)?')
        else regexp_full_match(t, '-?[0-9]{1,13}(\.[0-9]*)?')
    end
);
create or replace macro _spaced(t, thousands_sep) as translate(
    case when coalesce(thousands_sep, '') in ('', ' ') then t else replace(t, thousands_sep, ' ') end,
    chr(160) || chr(8239),
    '  '
);
create or replace macro _grouped_number(t, decimal_mark, thousands_sep, decimals) as (
    case
        when coalesce(decimal_mark, '.') = ',' and decimals = 'cents'
            then regexp_full_match(
                _spaced(t, thousands_sep), '-?[0-9]{1,3}( [0-9]{3}){1,4}(,[0-9]{0,2}0*)?'
            )
        when coalesce(decimal_mark, '.') = ','
            then regexp_full_match(
                _spaced(t, thousands_sep), '-?[0-9]{1,3}( [0-9]{3}){1,4}(,[0-9]*)?'
            )
        when decimals = 'cents'
            then regexp_full_match(
                _spaced(t, thousands_sep), '-?[0-9]{1,3}( [0-9]{3}){1,4}(\.[0-9]{0,2}0*)?'
            )
        else regexp_full_match(
            _spaced(t, thousands_sep), '-?[0-9]{1,3}( [0-9]{3}){1,4}(\.[0-9]*)?'
        )
    end
);
-- a fast-path number as decimal text (1234.56)
create or replace macro _plain_text(t) as replace(t, ',', '.');
create or replace macro _grouped_text(t, thousands_sep) as
    replace(replace(_spaced(t, thousands_sep), ' ', ''), ',', '.');
create or replace macro _cents_of(decimal_text) as
    (decimal_text::decimal(18, 2) * 100)::bigint;

-- money -> bigint cents, NULL when empty, unparseable or not exact to the cent
create or replace macro parse_cents(txt, decimal_mark, thousands_sep) as (
    case
        when _plain_number(clean_text(txt), decimal_mark, 'cents')
            then _cents_of(_plain_text(clean_text(txt)))
        when _plain_number(clean_text(txt), decimal_mark, 'any') then null
        when _grouped_number(clean_text(txt), decimal_mark, thousands_sep, 'cents')
            then _cents_of(_grouped_text(clean_text(txt), thousands_sep))
        when _grouped_number(clean_text(txt), decimal_mark, thousands_sep, 'any') then null
        else _canon_cents(money_canon(txt, decimal_mark, thousands_sep))
    end
);

-- why money text does not parse: 'bad_amount' (not a number in this dialect, or out of range),
-- 'inexact_amount' (not exact to the cent: 1.23456E+02, 12,345 with decimal mark ','), or NULL
-- (parsed, or empty)
create or replace macro money_error(txt, decimal_mark, thousands_sep) as (
    case
        when clean_text(txt) is null then null
        when _plain_number(clean_text(txt), decimal_mark, 'cents') then null
        when _plain_number(clean_text(txt), decimal_mark, 'any') then 'inexact_amount'
        when _grouped_number(clean_text(txt), decimal_mark, thousands_sep, 'cents') then null
        when _grouped_number(clean_text(txt), decimal_mark, thousands_sep, 'any')
            then 'inexact_amount'
        else list_transform(
            [money_canon(txt, decimal_mark, thousands_sep)],
            lambda c: case
                when c is null then 'bad_amount'
                when _canon_decimals(c) > 2 then 'inexact_amount'
                when _canon_cents(c) is null then 'bad_amount'
            end
        )[1]
    end
);

-- a number with the file's decimal mark and thousands separator -> double, or NULL
create or replace macro parse_float(txt, decimal_mark, thousands_sep) as (
    case
        when _plain_number(clean_text(txt), decimal_mark, 'any')
            then _plain_text(clean_text(txt))::double
        when _grouped_number(clean_text(txt), decimal_mark, thousands_sep, 'any')
            then _grouped_text(clean_text(txt), thousands_sep)::double
        else try_cast(number_canon(txt, decimal_mark, thousands_sep) as double)
    end
);

-- a whole number (3, 3,0, 1 000, 1E+03) -> bigint, or NULL (fractions refused)
create or replace macro parse_int(txt, decimal_mark, thousands_sep) as (
    case
        when regexp_full_match(clean_text(txt), '-?[0-9]{1,18}')
            then try_cast(clean_text(txt) as bigint)
        else list_transform(
            [number_canon(txt, decimal_mark, thousands_sep)],
            lambda c: case
                when _canon_decimals(c) = 0
                    then try_cast(try_cast(c as decimal(38, 0)) as bigint)
            end
        )[1]
    end
);


-- dates and times --------------------------------------------------------------------------------
--
-- Years outside 1900..2199 are refused (typos such as 0202 or 20026). A date column also accepts
-- ISO 8601 (2026-01-05), which no supported format can mean otherwise.

-- (clamped to the bounds, which are then dropped: one reference to ts keeps the expansion small)
create or replace macro _plausible(ts) as nullif(
    nullif(
        least(greatest(ts, timestamp '1899-12-31 23:59:59.999999'), timestamp '2200-01-01'),
        timestamp '1899-12-31 23:59:59.999999'
    ),
    timestamp '2200-01-01'
);

-- text in one of formats.DATE_FORMATS -> timestamp (midnight), or NULL
create or replace macro _strptime_date(t, fmt) as (
    case coalesce(fmt, '%Y-%m-%d')
        when '%Y-%m-%d' then try_strptime(t, '%Y-%m-%d')
        when '%d/%m/%Y' then try_strptime(t, '%d/%m/%Y')
        when '%d/%m/%y' then try_strptime(t, '%d/%m/%y')
        when '%d.%m.%Y' then try_strptime(t, '%d.%m.%Y')
        when '%d-%m-%Y' then try_strptime(t, '%d-%m-%Y')
        when '%Y%m%d' then try_strptime(t, '%Y%m%d')
        when '%m/%d/%Y' then try_strptime(t, '%m/%d/%Y')
        when '%Y/%m/%d' then try_strptime(t, '%Y/%m/%d')
    end
);

-- text in one of formats.DATETIME_FORMATS -> timestamp, or NULL
create or replace macro _strptime_datetime(t, fmt) as (
    case coalesce(fmt, '%Y-%m-%d %H:%M:%S')
        when '%Y-%m-%d %H:%M:%S' then try_strptime(t, '%Y-%m-%d %H:%M:%S')
        when '%Y-%m-%dT%H:%M:%S' then try_strptime(t, '%Y-%m-%dT%H:%M:%S')
        when '%Y-%m-%d %H:%M' then try_strptime(t, '%Y-%m-%d %H:%M')
        when '%d/%m/%Y %H:%M' then try_strptime(t, '%d/%m/%Y %H:%M')
        when '%d/%m/%Y %H:%M:%S' then try_strptime(t, '%d/%m/%Y %H:%M:%S')
        when '%d.%m.%Y %H:%M' then try_strptime(t, '%d.%m.%Y %H:%M')
        when '%Y%m%d%H%M%S' then try_strptime(t, '%Y%m%d%H%M%S')
        when '%m/%d/%Y %H:%M' then try_strptime(t, '%m/%d/%Y %H:%M')
    end
);

-- ISO 8601 local date-times (with 'T' or a space, seconds and fractions optional)
create or replace macro _strptime_iso(t) as coalesce(
    try_strptime(t, '%Y-%m-%dT%H:%M:%S'),
    try_strptime(t, '%Y-%m-%d %H:%M:%S'),
    try_strptime(t, '%Y-%m-%dT%H:%M:%S.%f'),
    try_strptime(t, '%Y-%m-%d %H:%M:%S.%f'),
    try_strptime(t, '%Y-%m-%dT%H:%M'),
    try_strptime(t, '%Y-%m-%d %H:%M')
);

-- a date in the file's date format (or ISO 8601) -> date, or NULL
create or replace macro parse_date(txt, fmt) as _plausible(
    coalesce(_strptime_date(clean_text(txt), fmt), try_strptime(clean_text(txt), '%Y-%m-%d'))
)::date;

-- the explicit UTC offset ending a date-time written with a time (Z, UTC, +02:00, +0200, -05),
-- or NULL
create or replace macro _utc_offset_pattern() as
    '([0-9]{2}:?[0-9]{2}(:?[0-9]{2}(\.[0-9]{1,9})?)?) ?([zZ]|UTC|[-+][0-9]{2}(:?[0-9]{2})?)$';
create or replace macro _utc_offset_text(t) as
    nullif(regexp_extract(t, _utc_offset_pattern(), 4), '');

-- an offset text -> minutes east of UTC
create or replace macro _utc_offset_minutes(o) as (
    case
        when upper(o) in ('Z', 'UTC') then 0
        else (case when o[1] = '-' then -1 else 1 end) * (
            o[2:3]::integer * 60
            + coalesce(try_cast(nullif(replace(o[4:], ':', ''), '') as integer), 0)
        )
    end
);

-- a local date-time with an explicit offset -> naive UTC timestamp
create or replace macro _ts_with_offset(t, datetime_fmt) as list_transform(
    [regexp_replace(t, _utc_offset_pattern(), '\1')],
    lambda local: coalesce(_strptime_datetime(local, datetime_fmt), _strptime_iso(local))
)[1] - to_minutes(_utc_offset_minutes(_utc_offset_text(t))::bigint);

-- a local date-time (or a bare date = local midnight) in zone tz -> naive UTC timestamp
create or replace macro _ts_local(t, datetime_fmt, date_fmt, tz) as timezone(
    'UTC',
    timezone(
        tz,
        coalesce(
            _strptime_datetime(t, datetime_fmt),
            _strptime_iso(t),
            _strptime_date(t, date_fmt),
            try_strptime(t, '%Y-%m-%d')
        )
    )
);

-- a date-time in the file's datetime format (or ISO 8601, or a bare date in its date format) ->
-- naive UTC timestamp, or NULL. An explicit offset (Z, +02:00) is honoured; otherwise the text is
-- local time in tz (an IANA name; NULL tz -> NULL). Never returns timestamptz.
create or replace macro parse_ts_utc(txt, datetime_fmt, date_fmt, tz) as _plausible(
    case
        when _utc_offset_text(clean_text(txt)) is not null
            then _ts_with_offset(clean_text(txt), datetime_fmt)
        else _ts_local(clean_text(txt), datetime_fmt, date_fmt, tz)
    end
)::timestamp;

-- the calendar date of a UTC timestamp in zone tz
create or replace macro local_date(ts_utc, tz) as timezone(tz, timezone('UTC', ts_utc))::date;


-- weeks and months -------------------------------------------------------------------------------

-- '2026-W05', '2026W05', '2026-w5' -> '2026-W05'; NULL unless week 1..53 exists in that year
create or replace macro _iso_week_part(txt, part) as
    regexp_extract(clean_text(txt), '^([0-9]{4})-?[wW]([0-9]{1,2})$', part);
create or replace macro parse_iso_week(txt) as (
    case
        -- weeks 01..52 exist in every year
        when regexp_full_match(clean_text(txt), '[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-2])')
            then clean_text(txt)
        when _iso_week_part(txt, 1) = '' then null
        when _iso_week_part(txt, 2)::integer
            between 1 and week(make_date(_iso_week_part(txt, 1)::integer, 12, 28))
            then _iso_week_part(txt, 1) || '-W' || lpad(_iso_week_part(txt, 2), 2, '0')
    end
);

-- 'YYYY-MM', 'YYYY/MM', 'YYYYMM', 'MM/YYYY', or any date in the file's date format -> first
-- day of the month, or NULL
create or replace macro parse_month(txt, date_fmt) as coalesce(
    _plausible(
        coalesce(
            try_strptime(clean_text(txt), '%Y-%m'),
            try_strptime(clean_text(txt), '%Y/%m'),
            try_strptime(clean_text(txt), '%m/%Y'),
            case when length(clean_text(txt)) = 6 then try_strptime(clean_text(txt), '%Y%m') end
        )
    )::date,
    date_trunc('month', parse_date(txt, date_fmt))::date
);

"""tessera.expr — the one expression language of Tessera.

Formula fields, validation rules, default values, workflow conditions, list-view filters,
sharing-rule criteria and the API `filter` parameter all use it:

    compiled = compile_expression("amount * probability / 100", resolve_type, expected="number")
    compiled.evaluate({("amount",): Decimal("200"), ("probability",): Decimal("10")})  # Decimal('20')
    select(compiled.to_sql(column_for, dialect_name="postgresql"))

Pipeline (modelled on SQLAlchemy Core's compiler): parse.py turns text into a syntax tree using
Python's `ast` with a whitelist of node kinds; check.py resolves fields, checks types and lowers
operators into a typed tree (nodes.py); to_python.py compiles that tree to a closure and to_sql.py
(with sql_dialects.py) to a SQLAlchemy expression. User text never becomes SQL text: literals are
bound parameters and fields come from the caller's `column_for`.

Semantics (the same in Python, SQLite and PostgreSQL — tests/expr checks this on random data):

Types: text, integer, number, boolean, date, datetime, time, id, and null (the literal None).
  integer and number mix; integer op integer stays integer, except `/`.
Blank values behave like SQL NULL: arithmetic, comparisons and functions with a blank operand give
  blank; `and`/`or`/`not` use three-valued logic; IF with a blank condition takes the else branch;
  a blank condition (filter, rule) counts as false. The exceptions: ISBLANK, BLANKVALUE, IF, the
  relative date functions (THIS_MONTH(d) of a blank d is false),
  `x == None` / `x != None` (IS NULL / IS NOT NULL, never blank), `x in [..., None]` (also matches
  blank), and text `+` (a blank text counts as ''). ISBLANK and BLANKVALUE treat '' as blank.
Numbers are exact decimals (Python Decimal, PostgreSQL numeric; float inputs are read as the
  decimal they print as). `+ - *` are exact; `/` always gives a number rounded half away from zero
  to 10 decimals; division by zero is blank.
  A comparison (or `in`) where a number side is *computed* counts values within
  1e-9 + 1e-12·max(|a|, |b|) as equal, in every target: SQLite stores numbers as binary floats (it
  has no decimal type), where 0.1 + 0.2 is 0.30000000000000004, and 1 / 3 * 3 is 0.9999999999 after
  rounding the division. Comparing stored fields and written literals (amount > 100) stays exact,
  so it can use an index. On SQLite, computed values themselves are exact to ~15 significant digits.
Integers are 64-bit: an integer result beyond that range is blank (PostgreSQL computes integer
  arithmetic in numeric to avoid overflow errors; SQLite's own overflow goes through floats).
ROUND(n, digits) rounds half away from zero (2.5 → 3, -2.5 → -3), digits may be negative and must
  be a whole-number literal; ROUND of an integer stays an integer.
Text compares by Unicode code point, case-sensitively (PostgreSQL uses COLLATE "C" for ordering).
  LEN counts characters. CONTAINS and BEGINS are case-sensitive with no wildcards. LOWER and UPPER
  change only the ASCII letters A–Z (SQLite has no Unicode case mapping without ICU, so all targets
  do the same).
Dates: date ± integer → date; date - date → integer days; DAYS_BETWEEN(a, b) = b - a in days.
  Datetimes are UTC; YEAR/MONTH/DAY/DATEVALUE/DAYS_BETWEEN take their UTC date. ADD_DAYS keeps a
  datetime's time of day. DATE(y, m, d) with an impossible date, and any date outside years
  1–9999, is blank. TODAY() is `now`'s UTC date; NOW() is `now` (both bound parameters in SQL).
CURRENT_USER() is the id of the user the expression is evaluated for: `user` of evaluate() and
  to_sql() (a bound parameter typed as an id in SQL); blank when there is none (the platform itself).
  It is refused unless compile_expression(current_user=True): callers allow it only where they
  evaluate for one acting user (filters: the querying user; validation rules and record-triggered
  workflow conditions: the writing user), never in what is computed for whoever reads a record
  (formula fields, roll-ups, defaults, sharing rules). metadata/README.md has the table.
Relative dates (relative_dates.py; Salesforce's date literals as functions): each is true when its
  date or datetime argument falls in a period around today, a half-open range of days
  start <= d < end whose bounds are computed in Python from `now` and bound as parameters (a stored
  field keeps its index; both targets use the same bounds). A datetime counts by its UTC date. A
  blank argument gives false, never blank. Weeks start on Monday.
    IS_TODAY(d), YESTERDAY(d), TOMORROW(d)                 that day
    THIS_WEEK / LAST_WEEK / NEXT_WEEK(d)                   Monday to Sunday
    THIS_MONTH / LAST_MONTH / NEXT_MONTH(d)                first to last day of the calendar month
    THIS_QUARTER / LAST_QUARTER / NEXT_QUARTER(d)          calendar quarters (from Jan, Apr, Jul, Oct)
    THIS_YEAR / LAST_YEAR / NEXT_YEAR(d)                   1 January to 31 December
    THIS_FISCAL_QUARTER / LAST_… / NEXT_…(d)               three months from the fiscal year's first
                                                           month (and from every third month after)
    THIS_FISCAL_YEAR / LAST_… / NEXT_…(d)                  twelve months from the first day of the
                                                           org's fiscal_year_start_month (settings,
                                                           default 1: calendar years); a fiscal year
                                                           is named by the calendar year it ends in
    LAST_N_DAYS(d, n)                                      today and the n days before (n + 1 days)
    NEXT_N_DAYS(d, n)                                      the n days after today, not today
    N_DAYS_AGO(d, n)                                       the one day n days before today
    LAST_N_MONTHS(d, n) / NEXT_N_MONTHS(d, n)              the n whole months before / after the
                                                           current month, not the current month
  n is a whole-number literal, 0 or more (the bounds are known before the query runs, so it cannot
  be a field). The fiscal year start comes from the resolver (`resolve_type.fiscal_year_start_month`,
  which meta.validate.resolver reads from the org settings), fixed when the expression is compiled.
TEXT(x): numbers in plain notation with at most 15 significant digits and at most 10 decimals,
  trailing zeros removed (TEXT(1.50) = '1.5'); integers as digits; booleans 'true'/'false';
  dates 'YYYY-MM-DD'; datetimes 'YYYY-MM-DDTHH:MM:SSZ' (UTC); times 'HH:MM:SS'; ids as canonical
  UUID text.
VALUE(t): text of the form [+-]digits[.digits] (spaces around ignored) → number; anything else → blank.
MIN/MAX take two or more values of one type; any blank argument gives blank.
ISCHANGED(field) / PRIORVALUE(field) need context="write". With no prior values (a record being
  created) ISCHANGED is false and PRIORVALUE blank. A blank and '' are not a change.
Ids compare with ids and with text literals (canonical UUID form, case-insensitive).
IMAGE(url, alt[, height, width]) (expr/images.py): a picture, {url, alt, height, width} — a JSON
  object in SQL read back as the same dict; its own type `image`, only a formula's result (IF, CASE,
  BLANKVALUE and ISBLANK take one; nothing compares it). url is text, or a file or image field (the
  resolver's `file_field(path)` says which), whose file's /app download path becomes the url.
UNDER(field, node): the record is the node or below it in the hierarchy `field` names (a
  self-lookup declared hierarchy: true); the node is an id, or text naming the object's name field
  (a UUID literal is an id). SQL: a recursive CTE; Python: needs `under` (expr/hierarchy.py).

Storage assumptions (SQL target): columns use SQLAlchemy's generic types (String/Text, BigInteger,
Numeric, Boolean, Date, DateTime(timezone=True), Time, Uuid); on SQLite, dates, datetimes and times
are SQLAlchemy's ISO text and datetimes are stored in UTC.
"""
from .compiled import Compiled, compile_expression
from .errors import ExprError
from .types import EXPRESSION_TYPES, normalize_type

__all__ = ["compile_expression", "Compiled", "ExprError", "EXPRESSION_TYPES", "normalize_type"]

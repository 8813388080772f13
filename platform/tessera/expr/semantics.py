"""The numbers behind the language's defined behaviour, shared by both targets (see __init__)."""
import re

DIVISION_SCALE = 10           # a / b is rounded half away from zero to this many decimals
TEXT_SIGNIFICANT_DIGITS = 15  # TEXT(number) shows at most this many significant digits …
TEXT_MAX_PLACES = 10          # … and at most this many decimals
# VALUE(text): optional sign, digits with an optional decimal point; spaces around are ignored.
VALUE_PATTERN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
VALUE_PATTERN_SQL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
# A comparison where a number side is computed (not a stored field or a written literal) treats
# values within ABSOLUTE + RELATIVE * max(|a|, |b|) as equal. SQLite computes in binary floating
# point (0.1 + 0.2 is 0.30000000000000004 there) and division rounds to DIVISION_SCALE decimals
# (1 / 3 * 3 is 0.9999999999); like a spreadsheet, the language calls such values equal, in every
# target alike. Stored-versus-written comparisons (amount > 100) stay exact and index-friendly.
NUMBER_TOLERANCE_ABSOLUTE = "1e-9"
NUMBER_TOLERANCE_RELATIVE = "1e-12"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

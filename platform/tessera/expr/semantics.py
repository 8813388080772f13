"""The numbers behind the language's defined behaviour, shared by both targets (see __init__)."""
import re

DIVISION_SCALE = 10           # a / b is rounded half away from zero to this many decimals
TEXT_SIGNIFICANT_DIGITS = 15  # TEXT(number) shows at most this many significant digits …
TEXT_MAX_PLACES = 10          # … and at most this many decimals
# VALUE(text): optional sign, digits with an optional decimal point; spaces around are ignored.
VALUE_PATTERN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
VALUE_PATTERN_SQL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

"""Multi-currency at run time: dated exchange rates (rates.py) and converting amounts in SQL
(conversion.py). Which currencies an org uses is metadata (meta/currencies.py); rates are data."""

"""Analytics (issue 15): reports and dashboards as metadata, computed in SQL by the record service's
aggregate operation (records/aggregate.py) under each viewer's sharing and field access."""

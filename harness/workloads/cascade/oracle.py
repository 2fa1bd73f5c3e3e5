"""The cascade's independent reference: its rules written as SQL and run on DuckDB.

Written from the rules (README "How the comparison is made", rules.py's docstring), not
from any variant: each order is looked up along order -> customer -> region and
order -> product -> category with outer joins; the first failing check, in the order
BAD_QUANTITY (quantity null or <= 0), UNKNOWN_CUSTOMER, MISSING_REGION, UNKNOWN_PRODUCT,
UNKNOWN_CATEGORY, sends it to quarantine; the others get gross = quantity x unit_price,
net = gross x (1 - discount), tax = net x tax_rate, total = net + tax, in doubles, unrounded.
"""

from __future__ import annotations

from harness.workloads.oracle import duckdb_reference

# A dimension row is "found" when the join matched it; its key column is never null in a
# matched row, so IS NOT NULL on it tells a match from a miss.
CLASSIFIED = """
CREATE TEMP VIEW classified AS
SELECT
    o.order_id, o.order_date, o.customer_id, o.product_id, o.quantity, o.discount,
    c.customer_name, c.segment, r.region_id, r.region_name, r.tax_rate,
    p.product_name, p.unit_price, k.category_id, k.category_name,
    CASE
        WHEN o.quantity IS NULL OR o.quantity <= 0 THEN 'BAD_QUANTITY'
        WHEN c.customer_id IS NULL THEN 'UNKNOWN_CUSTOMER'
        WHEN r.region_id IS NULL THEN 'MISSING_REGION'
        WHEN p.product_id IS NULL THEN 'UNKNOWN_PRODUCT'
        WHEN k.category_id IS NULL THEN 'UNKNOWN_CATEGORY'
    END AS reason
FROM orders AS o
LEFT JOIN customers AS c ON c.customer_id = o.customer_id
LEFT JOIN regions AS r ON r.region_id = c.region_id
LEFT JOIN products AS p ON p.product_id = o.product_id
LEFT JOIN categories AS k ON k.category_id = p.category_id
"""

ENRICHED = """
WITH gross AS (
    SELECT *, CAST(quantity AS DOUBLE) * unit_price AS gross_amount
    FROM classified WHERE reason IS NULL
), net AS (
    SELECT *, gross_amount * (CAST(1 AS DOUBLE) - discount) AS net_amount FROM gross
), tax AS (
    SELECT *, net_amount * tax_rate AS tax_amount FROM net
)
SELECT order_id, order_date, customer_id, customer_name, segment, region_id, region_name,
       product_id, product_name, category_id, category_name, quantity, unit_price, discount,
       gross_amount, net_amount, tax_amount, net_amount + tax_amount AS total_amount
FROM tax
ORDER BY order_id
"""

QUARANTINE = """
SELECT order_id, reason, customer_id, product_id, quantity
FROM classified WHERE reason IS NOT NULL
ORDER BY order_id
"""

# Dimension keys must be unique, or a join would multiply an order: checked, not assumed.
UNIQUE_KEYS = """
SELECT 'customers' AS dimension, customer_id AS id FROM customers
    GROUP BY customer_id HAVING count(*) > 1
UNION ALL SELECT 'regions', region_id FROM regions GROUP BY region_id HAVING count(*) > 1
UNION ALL SELECT 'products', product_id FROM products GROUP BY product_id HAVING count(*) > 1
UNION ALL SELECT 'categories', category_id FROM categories
    GROUP BY category_id HAVING count(*) > 1
UNION ALL SELECT 'orders', order_id FROM orders GROUP BY order_id HAVING count(*) > 1
"""

REFERENCE = duckdb_reference(
    "duckdb-sql",
    {"enriched": ENRICHED, "quarantine": QUARANTINE},
    "the cascade's rules as SQL on DuckDB (outer joins, CASE in rule order)",
    setup=(CLASSIFIED,),
    checks={"every dimension and order key is unique": UNIQUE_KEYS},
)

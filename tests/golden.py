"""A hand-checked golden fixture for the cascade: a few dimension rows and 25 orders written
out literally, with the enriched and quarantine rows every implementation must produce.

The expected rows were worked out by hand from the rules (README "How the comparison is
made", harness/workloads/cascade/rules.py), not by running any implementation:
- a bad order is quarantined with the first reason that applies, in the order
  BAD_QUANTITY (null or <= 0), UNKNOWN_CUSTOMER, MISSING_REGION (the customer's region_id
  is null or names no region), UNKNOWN_PRODUCT, UNKNOWN_CATEGORY (the product's
  category_id is null or names no category);
- a good order gets gross = quantity x unit_price, net = gross x (1 - discount),
  tax = net x tax_rate, total = net + tax, unrounded.

Orders 15-23 carry two or three defects each, covering every pair of reasons that can
occur together (UNKNOWN_CUSTOMER hides the region, UNKNOWN_PRODUCT hides the category), so
a variant checking any two reasons in another order gets at least one of them wrong.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

D = dt.date

REGIONS = pa.table({
    "region_id": pa.array([1, 2, 3], pa.int64()),
    "region_name": ["North", "South", "East"],
    "tax_rate": pa.array([0.2, 0.0, 0.075], pa.float64()),
})
CUSTOMERS = pa.table({
    "customer_id": pa.array([10, 11, 12, 13, 14], pa.int64()),
    "customer_name": ["Ada", "Ben", "Cy", "Di", "Eve"],
    "segment": ["consumer", "corporate", "consumer", "home_office", "small_business"],
    # 12: no region at all; 13: a region id that names no region
    "region_id": pa.array([1, 2, None, 99, 3], pa.int64()),
})
CATEGORIES = pa.table({
    "category_id": pa.array([100, 101], pa.int64()),
    "category_name": ["Books", "Tools"],
})
PRODUCTS = pa.table({
    "product_id": pa.array([1000, 1001, 1002, 1003, 1004], pa.int64()),
    "product_name": ["Atlas", "Hammer", "Orphan", "Nocat", "Pen"],
    # 1002: a category id that names no category; 1003: no category at all
    "category_id": pa.array([100, 101, 999, None, 100], pa.int64()),
    "unit_price": pa.array([19.99, 12.5, 5.0, 7.25, 0.1], pa.float64()),
})

# order_id, order_date, customer_id, product_id, quantity, discount
_ORDERS = [
    (1, D(2025, 1, 1), 10, 1000, 3, 0.15),      # good: North 20%
    (2, D(2025, 1, 2), 11, 1001, 2, 0.0),       # good: South, tax rate 0
    (3, D(2025, 2, 28), 14, 1004, 3, 0.0),      # good: 3 x 0.1 is not 0.3 in doubles
    (4, D(2025, 3, 1), 10, 1001, 1, 1.0),       # good: a 100% discount
    (5, D(2025, 12, 31), 14, 1000, 7, 0.05),    # good: tax 9.9700125, not rounded to cents
    (6, D(2025, 4, 1), 10, 1000, 0, 0.0),       # quantity 0
    (7, D(2025, 4, 2), 10, 1000, -2, 0.0),      # negative quantity
    (8, D(2025, 4, 3), 10, 1000, None, 0.1),    # null quantity
    (9, D(2025, 4, 4), 77, 1000, 1, 0.0),       # unknown customer
    (10, D(2025, 4, 5), 12, 1000, 1, 0.0),      # customer with a null region
    (11, D(2025, 4, 6), 13, 1000, 1, 0.0),      # customer with a dangling region
    (12, D(2025, 4, 7), 10, 5555, 1, 0.0),      # unknown product
    (13, D(2025, 4, 8), 10, 1002, 1, 0.0),      # product with a dangling category
    (14, D(2025, 4, 9), 11, 1003, 1, 0.0),      # product with a null category
    (15, D(2025, 5, 1), 77, 5555, None, 0.0),   # null quantity + unknown customer + product
    (16, D(2025, 5, 2), 12, 1000, 0, 0.0),      # quantity 0 + null region
    (17, D(2025, 5, 3), 10, 1002, -1, 0.0),     # negative quantity + unknown category
    (18, D(2025, 5, 4), 77, 5555, 2, 0.0),      # unknown customer + unknown product
    (19, D(2025, 5, 5), 77, 1003, 2, 0.0),      # unknown customer + unknown category
    (20, D(2025, 5, 6), 13, 5555, 2, 0.0),      # dangling region + unknown product
    (21, D(2025, 5, 7), 12, 1002, 2, 0.0),      # null region + unknown category
    (22, D(2025, 5, 8), 10, 5555, -3, 0.0),     # negative quantity + unknown product
    (23, D(2025, 5, 9), 77, 1000, 0, 0.0),      # quantity 0 + unknown customer
    (24, D(2025, 6, 1), None, 1000, 1, 0.0),    # null customer id
    (25, D(2025, 6, 2), 11, None, 2, 0.0),      # null product id
]
ORDERS = pa.table({
    "order_id": pa.array([o[0] for o in _ORDERS], pa.int64()),
    "order_date": pa.array([o[1] for o in _ORDERS], pa.date32()),
    "customer_id": pa.array([o[2] for o in _ORDERS], pa.int64()),
    "product_id": pa.array([o[3] for o in _ORDERS], pa.int64()),
    "quantity": pa.array([o[4] for o in _ORDERS], pa.int64()),
    "discount": pa.array([o[5] for o in _ORDERS], pa.float64()),
})

TABLES = {"regions": REGIONS, "customers": CUSTOMERS, "categories": CATEGORIES,
          "products": PRODUCTS, "orders": ORDERS}

ENRICHED_COLUMNS = (
    "order_id", "order_date", "customer_id", "customer_name", "segment", "region_id",
    "region_name", "product_id", "product_name", "category_id", "category_name", "quantity",
    "unit_price", "discount", "gross_amount", "net_amount", "tax_amount", "total_amount",
)
# Amounts by hand:
#  1: 3 x 19.99 = 59.97; x 0.85 = 50.9745; x 0.2 = 10.1949; total 61.1694
#  2: 2 x 12.5 = 25.0; x 1.0 = 25.0; x 0.0 = 0.0; total 25.0
#  3: 3 x 0.1 = 0.3; x 1.0 = 0.3; x 0.075 = 0.0225; total 0.3225
#  4: 1 x 12.5 = 12.5; x 0.0 = 0.0; x 0.2 = 0.0; total 0.0
#  5: 7 x 19.99 = 139.93; x 0.95 = 132.9335; x 0.075 = 9.9700125; total 142.9035125
ENRICHED = pd.DataFrame([
    (1, D(2025, 1, 1), 10, "Ada", "consumer", 1, "North", 1000, "Atlas", 100, "Books",
     3, 19.99, 0.15, 59.97, 50.9745, 10.1949, 61.1694),
    (2, D(2025, 1, 2), 11, "Ben", "corporate", 2, "South", 1001, "Hammer", 101, "Tools",
     2, 12.5, 0.0, 25.0, 25.0, 0.0, 25.0),
    (3, D(2025, 2, 28), 14, "Eve", "small_business", 3, "East", 1004, "Pen", 100, "Books",
     3, 0.1, 0.0, 0.3, 0.3, 0.0225, 0.3225),
    (4, D(2025, 3, 1), 10, "Ada", "consumer", 1, "North", 1001, "Hammer", 101, "Tools",
     1, 12.5, 1.0, 12.5, 0.0, 0.0, 0.0),
    (5, D(2025, 12, 31), 14, "Eve", "small_business", 3, "East", 1000, "Atlas", 100, "Books",
     7, 19.99, 0.05, 139.93, 132.9335, 9.9700125, 142.9035125),
], columns=list(ENRICHED_COLUMNS))

QUARANTINE = pd.DataFrame([
    (6, "BAD_QUANTITY", 10, 1000, 0),
    (7, "BAD_QUANTITY", 10, 1000, -2),
    (8, "BAD_QUANTITY", 10, 1000, None),
    (9, "UNKNOWN_CUSTOMER", 77, 1000, 1),
    (10, "MISSING_REGION", 12, 1000, 1),
    (11, "MISSING_REGION", 13, 1000, 1),
    (12, "UNKNOWN_PRODUCT", 10, 5555, 1),
    (13, "UNKNOWN_CATEGORY", 10, 1002, 1),
    (14, "UNKNOWN_CATEGORY", 11, 1003, 1),
    (15, "BAD_QUANTITY", 77, 5555, None),
    (16, "BAD_QUANTITY", 12, 1000, 0),
    (17, "BAD_QUANTITY", 10, 1002, -1),
    (18, "UNKNOWN_CUSTOMER", 77, 5555, 2),
    (19, "UNKNOWN_CUSTOMER", 77, 1003, 2),
    (20, "MISSING_REGION", 13, 5555, 2),
    (21, "MISSING_REGION", 12, 1002, 2),
    (22, "BAD_QUANTITY", 10, 5555, -3),
    (23, "BAD_QUANTITY", 77, 1000, 0),
    (24, "UNKNOWN_CUSTOMER", None, 1000, 1),
    (25, "UNKNOWN_PRODUCT", 11, None, 2),
], columns=["order_id", "reason", "customer_id", "product_id", "quantity"]).astype(
    {"customer_id": "Int64", "product_id": "Int64", "quantity": "Int64"})

EXPECTED = {"enriched": ENRICHED, "quarantine": QUARANTINE}

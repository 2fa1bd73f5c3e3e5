"""Seeded generator of the cascade star schema: orders -> customers -> regions, orders ->
products -> categories, with skewed (Zipf-like) customers and products and a share of bad
orders that exercises every rule.

Dimension rows cascade into defects: some customers have no region (null, or an id no
region has), some products no category (likewise). Two thirds of the bad orders carry one
defect (round robin over the five reasons, the quantity's null, zero and negative in turn),
one third two or three at once (round robin over every combination that can occur
together), so every quarantine reason occurs and an implementation checking the reasons in
another order than the rules' is caught."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa

GENERATOR_VERSION = "cascade-2"

REGION_NAMES = [
    "Andalusia", "Bavaria", "Brittany", "Catalonia", "Flanders", "Galicia", "Hesse",
    "Lapland", "Lombardy", "Masovia", "Moravia", "Normandy", "Piedmont", "Provence",
    "Saxony", "Scania", "Silesia", "Styria", "Transylvania", "Tuscany", "Tyrol",
    "Wallonia", "Wessex", "Zealand", "Zurich",
]
SEGMENTS = ["consumer", "corporate", "home_office", "small_business"]
SEGMENT_P = [0.55, 0.25, 0.12, 0.08]
CATEGORY_WORDS = [
    "Audio", "Books", "Cameras", "Cleaning", "Clothing", "Computers", "Cookware", "Cycling",
    "Drinks", "Fitness", "Furniture", "Garden", "Grocery", "Health", "Hobbies", "Kitchen",
    "Lighting", "Luggage", "Music", "Office", "Outdoor", "Party", "Pets", "Phones", "Printing",
    "Security", "Shoes", "Software", "Sports", "Stationery", "Storage", "Tablets", "Tools",
    "Toys", "Travel", "TV", "Video", "Watches", "Wellness", "Wine",
]
DISCOUNTS = np.array([0.0, 0.0, 0.0, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25])
# A bad order's defects along the three things it names: its quantity, its customer (and
# through it the region), its product (and through it the category). A customer that does
# not exist has no region to miss, a product that does not exist no category, so each axis
# holds at most one defect.
QUANTITY_DEFECTS = ("null_quantity", "zero_quantity", "negative_quantity")
CUSTOMER_DEFECTS = ("unknown_customer", "missing_region")
PRODUCT_DEFECTS = ("unknown_product", "unknown_category")
DEFECTS = (*QUANTITY_DEFECTS, *CUSTOMER_DEFECTS, *PRODUCT_DEFECTS)
# Every combination of two or three defects (one per axis): 28 of them.
COMBINATIONS = tuple(
    tuple(d for d in combo if d)
    for combo in itertools.product(
        (None, *QUANTITY_DEFECTS), (None, *CUSTOMER_DEFECTS), (None, *PRODUCT_DEFECTS))
    if sum(d is not None for d in combo) >= 2
)
MULTI_SHARE = 1 / 3  # of the bad orders, those with several defects
EPOCH = dt.date(2025, 1, 1)


def cardinalities(rows: int) -> dict[str, int]:
    """Dimension sizes for a fact table of `rows` orders (400k: 20k customers, 2k products)."""
    return {
        "regions": len(REGION_NAMES),
        "customers": max(50, rows // 20),
        "categories": len(CATEGORY_WORDS),
        "products": max(20, rows // 200),
    }


def _zipf_weights(n: int, s: float, rng: np.random.Generator) -> np.ndarray:
    """Rank weights 1/rank^s over a random permutation: a few hot keys, a long tail."""
    weights = 1.0 / np.arange(1, n + 1) ** s
    rng.shuffle(weights)
    return weights / weights.sum()


def generate(rows: int, seed: int, bad_share: float) -> dict[str, pa.Table]:
    """The five tables of the cascade schema; deterministic in (rows, seed, bad_share)."""
    if rows < 1:
        raise ValueError("rows must be >= 1")
    if not 0.0 <= bad_share <= 1.0:
        raise ValueError("bad_share must be within [0, 1]")
    rng = np.random.Generator(np.random.PCG64(seed))
    card = cardinalities(rows)
    n_reg, n_cust, n_cat, n_prod = (card[k] for k in ("regions", "customers", "categories",
                                                        "products"))

    regions = pa.table({
        "region_id": pa.array(np.arange(1, n_reg + 1), pa.int64()),
        "region_name": pa.array(REGION_NAMES, pa.string()),
        "tax_rate": pa.array(np.round(rng.uniform(0.0, 0.25, n_reg), 3), pa.float64()),
    })

    # Orphans: customers whose region is missing (null, or an id no region has).
    n_orphans = max(2, n_cust // 200)
    orphan_ids = rng.choice(np.arange(1, n_cust + 1), size=n_orphans, replace=False)
    region_of = rng.integers(1, n_reg + 1, n_cust).astype(np.int64)
    region_mask = np.zeros(n_cust, dtype=bool)
    half = n_orphans // 2
    region_mask[orphan_ids[:half] - 1] = True          # null region_id
    region_of[orphan_ids[half:] - 1] = n_reg + 100 + np.arange(n_orphans - half)  # dangling
    customers = pa.table({
        "customer_id": pa.array(np.arange(1, n_cust + 1), pa.int64()),
        "customer_name": pa.array([f"Customer {i:06d}" for i in range(1, n_cust + 1)]),
        "segment": pa.array(rng.choice(SEGMENTS, n_cust, p=SEGMENT_P).tolist(), pa.string()),
        "region_id": pa.array(region_of, pa.int64(), mask=region_mask),
    })

    categories = pa.table({
        "category_id": pa.array(np.arange(1, n_cat + 1), pa.int64()),
        "category_name": pa.array(CATEGORY_WORDS, pa.string()),
    })
    # Uncategorised products: their category is missing (null, or an id no category has).
    n_uncategorised = max(2, n_prod // 100)
    uncategorised = rng.choice(np.arange(1, n_prod + 1), size=n_uncategorised, replace=False)
    category_of = rng.integers(1, n_cat + 1, n_prod).astype(np.int64)
    category_mask = np.zeros(n_prod, dtype=bool)
    half = n_uncategorised // 2
    category_mask[uncategorised[:half] - 1] = True
    category_of[uncategorised[half:] - 1] = n_cat + 100 + np.arange(n_uncategorised - half)
    products = pa.table({
        "product_id": pa.array(np.arange(1, n_prod + 1), pa.int64()),
        "product_name": pa.array([f"Product {i:05d}" for i in range(1, n_prod + 1)]),
        "category_id": pa.array(category_of, pa.int64(), mask=category_mask),
        "unit_price": pa.array(
            np.round(np.clip(rng.lognormal(3.2, 1.0, n_prod), 1.0, 2000.0), 2), pa.float64()
        ),
    })

    good_customers = np.setdiff1d(np.arange(1, n_cust + 1), orphan_ids)
    good_products = np.setdiff1d(np.arange(1, n_prod + 1), uncategorised)
    cust_col = rng.choice(good_customers, rows, p=_zipf_weights(len(good_customers), 0.8, rng))
    prod_col = rng.choice(good_products, rows, p=_zipf_weights(len(good_products), 1.0, rng))
    qty_col = np.minimum(rng.geometric(0.35, rows), 20).astype(np.int64)
    qty_null = np.zeros(rows, dtype=bool)
    discount_col = rng.choice(DISCOUNTS, rows)
    days = rng.integers(0, 365, rows)

    n_bad = round(rows * bad_share)
    bad_pos = rng.choice(rows, size=n_bad, replace=False)
    n_multi = round(n_bad * MULTI_SHARE)
    # One reason each in turn for the single defects, the quantity's three kinds rotating.
    singles = [(d,) for q in QUANTITY_DEFECTS for d in (q, *CUSTOMER_DEFECTS, *PRODUCT_DEFECTS)]
    kinds = np.concatenate([
        np.resize(np.arange(len(singles)), n_bad - n_multi),
        len(singles) + np.resize(np.arange(len(COMBINATIONS)), n_multi),
    ]).astype(np.int64)
    rng.shuffle(kinds)
    for plan_index, plan in enumerate((*singles, *COMBINATIONS)):
        pos = bad_pos[kinds == plan_index]
        for defect in plan:
            if defect == "null_quantity":
                qty_null[pos] = True
            elif defect == "zero_quantity":
                qty_col[pos] = 0
            elif defect == "negative_quantity":
                qty_col[pos] = -rng.integers(1, 5, len(pos))
            elif defect == "unknown_customer":
                cust_col[pos] = n_cust + 1 + rng.integers(0, 1000, len(pos))
            elif defect == "missing_region":
                cust_col[pos] = rng.choice(orphan_ids, len(pos))
            elif defect == "unknown_product":
                prod_col[pos] = n_prod + 1 + rng.integers(0, 1000, len(pos))
            elif defect == "unknown_category":
                prod_col[pos] = rng.choice(uncategorised, len(pos))

    orders = pa.table({
        "order_id": pa.array(np.arange(1, rows + 1), pa.int64()),
        "order_date": pa.array([EPOCH + dt.timedelta(days=int(d)) for d in days], pa.date32()),
        "customer_id": pa.array(cust_col, pa.int64()),
        "product_id": pa.array(prod_col, pa.int64()),
        "quantity": pa.array(qty_col, pa.int64(), mask=qty_null),
        "discount": pa.array(discount_col, pa.float64()),
    })
    return {
        "regions": regions,
        "customers": customers,
        "categories": categories,
        "products": products,
        "orders": orders,
    }

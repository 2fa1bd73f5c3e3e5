"""The single-node vectorised variant: the whole enrichment as pandas joins, to show
honestly how far one process goes before Spark pays off. (It is a contestant, not the
judge: the bench judges it by the DuckDB oracle in oracle.py like every other variant.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from harness.workloads.base import Outputs, Tables
from harness.workloads.cascade import rules

# Nullable integers stay integers (pandas' Int64), instead of turning into floats.
_TYPES = {pa.int64(): pd.Int64Dtype()}.get


def _frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_TYPES)


def enrich(tables: Tables) -> Outputs:
    """Enriched and quarantine rows of the cascade for the five input tables."""
    orders = _frame(tables["orders"])
    customers = _frame(tables["customers"]).assign(_customer=True)
    regions = _frame(tables["regions"]).assign(_region=True)
    products = _frame(tables["products"]).assign(_product=True)
    categories = _frame(tables["categories"]).assign(_category=True)

    df = (
        orders.merge(customers, on="customer_id", how="left")
        .merge(regions, on="region_id", how="left")
        .merge(products, on="product_id", how="left")
        .merge(categories, on="category_id", how="left")
    )
    qty = df["quantity"]
    reason = np.select(
        [
            (qty.isna() | (qty <= 0)).to_numpy(dtype=bool, na_value=True),
            df["_customer"].isna().to_numpy(),
            df["_region"].isna().to_numpy(),
            df["_product"].isna().to_numpy(),
            df["_category"].isna().to_numpy(),
        ],
        list(rules.REASONS),
        default="",
    )
    bad = reason != ""

    quarantine = orders.loc[bad, ["order_id", "customer_id", "product_id", "quantity"]].copy()
    quarantine.insert(1, "reason", reason[bad])

    good = df.loc[~bad]
    amounts = rules.amounts(good["quantity"].astype("int64"), good["unit_price"],
                            good["discount"], good["tax_rate"])
    enriched = pd.DataFrame({
        "order_id": good["order_id"],
        "order_date": good["order_date"],
        "customer_id": good["customer_id"],
        "customer_name": good["customer_name"],
        "segment": good["segment"],
        "region_id": good["region_id"].astype("int64"),
        "region_name": good["region_name"],
        "product_id": good["product_id"],
        "product_name": good["product_name"],
        "category_id": good["category_id"].astype("int64"),
        "category_name": good["category_name"],
        "quantity": good["quantity"].astype("int64"),
        "unit_price": good["unit_price"],
        "discount": good["discount"],
        **amounts,
    })
    return {
        "enriched": enriched.reset_index(drop=True),
        "quarantine": quarantine.reset_index(drop=True),
    }

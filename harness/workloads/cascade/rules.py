"""The business rules of the cascade enrichment, stated once for the Python variants (the
legacy jobs row by row, the vectorised job on whole columns through `amounts`). The
standalone Spark job cannot import the harness and states them again; the DuckDB oracle
(oracle.py) states them independently in SQL, and tests/golden.py holds rows worked out
by hand that all of them must produce.

Precedence of quarantine reasons (the first that applies wins), identical in every
variant including the standalone Spark job:
BAD_QUANTITY (null or <= 0) > UNKNOWN_CUSTOMER > MISSING_REGION (the customer's region is
null or names no region) > UNKNOWN_PRODUCT > UNKNOWN_CATEGORY (the product's category is
null or names no category).
"""

from __future__ import annotations

BAD_QUANTITY = "BAD_QUANTITY"
UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
MISSING_REGION = "MISSING_REGION"
UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
REASONS = (BAD_QUANTITY, UNKNOWN_CUSTOMER, MISSING_REGION, UNKNOWN_PRODUCT, UNKNOWN_CATEGORY)


def quantity_ok(quantity: int | None) -> bool:
    return quantity is not None and quantity > 0


def amounts(quantity, unit_price, discount, tax_rate) -> dict:  # noqa: ANN001
    """Gross, net, tax and total in the one evaluation order all variants use (IEEE doubles,
    unrounded), for one order's numbers or for whole columns (pandas Series) alike."""
    gross = quantity * unit_price
    net = gross * (1.0 - discount)
    tax = net * tax_rate
    return {"gross_amount": gross, "net_amount": net, "tax_amount": tax, "total_amount": net + tax}


def quarantine_row(order: dict, reason: str) -> dict:
    return {
        "order_id": order["order_id"],
        "reason": reason,
        "customer_id": order["customer_id"],
        "product_id": order["product_id"],
        "quantity": order["quantity"],
    }


def enriched_row(order: dict, customer, region, product, category) -> dict:  # noqa: ANN001
    """The output row from the order and its four looked-up dimension rows (objects or dicts
    with the dimension columns as attributes)."""
    return {
        "order_id": order["order_id"],
        "order_date": order["order_date"],
        "customer_id": customer.customer_id,
        "customer_name": customer.customer_name,
        "segment": customer.segment,
        "region_id": region.region_id,
        "region_name": region.region_name,
        "product_id": product.product_id,
        "product_name": product.product_name,
        "category_id": category.category_id,
        "category_name": category.category_name,
        "quantity": order["quantity"],
        "unit_price": product.unit_price,
        "discount": order["discount"],
        **amounts(order["quantity"], product.unit_price, order["discount"], region.tax_rate),
    }

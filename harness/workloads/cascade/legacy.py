"""The legacy job in its three historical forms, faithful to the original:

- `per-row`: one ORM session; per order four dependent lookups (customer, its region,
  product, its category), each its own SELECT, then one INSERT and a COMMIT.
- `batched`: the same rules, dimension lookups batched as IN queries per chunk of orders,
  one bulk INSERT and one COMMIT per chunk.
- `async`: SQLAlchemy asyncio; lookups and inserts separated: concurrent lookup tasks feed
  one writer that inserts and commits each order, as the original's transaction per order.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from harness.workloads.base import LegacyContext
from harness.workloads.cascade import rules
from harness.workloads.cascade.schema import (
    Category,
    Customer,
    Enriched,
    Product,
    Quarantine,
    Region,
)

LOOKUPS = (
    (Customer, Customer.customer_id),
    (Region, Region.region_id),
    (Product, Product.product_id),
    (Category, Category.category_id),
)


def _classify(order: dict, lookup) -> tuple[type, dict]:  # noqa: ANN001
    """Run the cascade for one order with `lookup(model, key_column, value)`; return the
    output table's model and the row. Shared by per-row (sync) through a plain callable."""
    if not rules.quantity_ok(order["quantity"]):
        return Quarantine, rules.quarantine_row(order, rules.BAD_QUANTITY)
    customer = lookup(Customer, Customer.customer_id, order["customer_id"])
    if customer is None:
        return Quarantine, rules.quarantine_row(order, rules.UNKNOWN_CUSTOMER)
    region = lookup(Region, Region.region_id, customer.region_id)
    if region is None:
        return Quarantine, rules.quarantine_row(order, rules.MISSING_REGION)
    product = lookup(Product, Product.product_id, order["product_id"])
    if product is None:
        return Quarantine, rules.quarantine_row(order, rules.UNKNOWN_PRODUCT)
    category = lookup(Category, Category.category_id, product.category_id)
    if category is None:
        return Quarantine, rules.quarantine_row(order, rules.UNKNOWN_CATEGORY)
    return Enriched, rules.enriched_row(order, customer, region, product, category)


def per_row(ctx: LegacyContext) -> None:
    """One query per lookup, one insert and one commit per order."""
    with Session(ctx.db.engine) as session:

        def lookup(model, column, value):  # noqa: ANN001, ANN202
            if value is None:
                return None
            return session.execute(select(model).where(column == value)).scalar_one_or_none()

        for batch in ctx.batches():
            for order in batch:
                model, row = _classify(order, lookup)
                session.add(model(**row))
                session.commit()
            ctx.progress(len(batch))


def batched(ctx: LegacyContext) -> None:
    """Dimension lookups as one IN query per table per chunk; one insert and commit a chunk."""
    with Session(ctx.db.engine) as session:

        def fetch(model, column, values: set) -> dict[Any, Any]:  # noqa: ANN001
            values.discard(None)
            if not values:
                return {}
            found = session.execute(select(model).where(column.in_(sorted(values)))).scalars()
            return {getattr(obj, column.key): obj for obj in found}

        for batch in ctx.batches():
            valid = [o for o in batch if rules.quantity_ok(o["quantity"])]
            customers = fetch(Customer, Customer.customer_id, {o["customer_id"] for o in valid})
            regions = fetch(Region, Region.region_id, {c.region_id for c in customers.values()})
            products = fetch(Product, Product.product_id, {o["product_id"] for o in valid})
            categories = fetch(
                Category, Category.category_id, {p.category_id for p in products.values()}
            )
            tables = {Customer: customers, Region: regions, Product: products,
                      Category: categories}
            out: dict[type, list[dict]] = {Enriched: [], Quarantine: []}
            def lookup(model, _column, value, tables=tables):  # noqa: ANN001, ANN202
                return tables[model].get(value)

            for order in batch:
                model, row = _classify(order, lookup)
                out[model].append(row)
            for model, rows in out.items():
                if rows:
                    session.execute(insert(model), rows)
            session.commit()
            ctx.progress(len(batch))


async def _run_async(ctx: LegacyContext, concurrency: int) -> None:
    engine = ctx.db.async_engine(pool_size=concurrency + 1)
    todo: asyncio.Queue = asyncio.Queue(maxsize=concurrency * 4)
    done: asyncio.Queue = asyncio.Queue(maxsize=concurrency * 4)

    async def lookup_worker() -> None:
        async with AsyncSession(engine) as session:
            while (order := await todo.get()) is not None:
                await done.put(await _classify_async(session, order))

    async def lookup(session: AsyncSession, model, column, value):  # noqa: ANN001, ANN202
        if value is None:
            return None
        await ctx.db.wait()
        return (await session.execute(select(model).where(column == value))).scalar_one_or_none()

    async def _classify_async(session: AsyncSession, order: dict) -> tuple[type, dict]:
        # The same cascade as `_classify`, awaiting each dependent lookup in turn.
        if not rules.quantity_ok(order["quantity"]):
            return Quarantine, rules.quarantine_row(order, rules.BAD_QUANTITY)
        found: dict[type, Any] = {}
        steps = (
            (Customer, Customer.customer_id, lambda: order["customer_id"],
             rules.UNKNOWN_CUSTOMER),
            (Region, Region.region_id, lambda: found[Customer].region_id, rules.MISSING_REGION),
            (Product, Product.product_id, lambda: order["product_id"], rules.UNKNOWN_PRODUCT),
            (Category, Category.category_id, lambda: found[Product].category_id,
             rules.UNKNOWN_CATEGORY),
        )
        for model, column, key, reason in steps:
            found[model] = await lookup(session, model, column, key())
            if found[model] is None:
                return Quarantine, rules.quarantine_row(order, reason)
        return Enriched, rules.enriched_row(
            order, found[Customer], found[Region], found[Product], found[Category]
        )

    async def writer(total: int) -> None:
        async with AsyncSession(engine) as session:
            written = 0
            while written < total:
                model, row = await done.get()
                session.add(model(**row))
                await ctx.db.wait()  # INSERT
                await session.flush()
                await ctx.db.wait()  # COMMIT
                await session.commit()
                written += 1
                ctx.progress(1)

    try:
        total = ctx.rows.num_rows
        workers = [asyncio.create_task(lookup_worker()) for _ in range(concurrency)]
        write = asyncio.create_task(writer(total))
        for batch in ctx.batches():
            for order in batch:
                await todo.put(order)
        for _ in workers:
            await todo.put(None)
        await asyncio.gather(write, *workers)
    finally:
        await engine.dispose()


def async_(ctx: LegacyContext) -> None:
    """Concurrent lookups (default 8 tasks) feeding one writer with a commit per order."""
    concurrency = int(ctx.options.get("async_concurrency", 8))
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no event loop in this thread
        asyncio.run(_run_async(ctx, concurrency))
        return
    # a host runs its own loop in this thread (pytest with Playwright's sync API or
    # pytest-asyncio, a notebook): asyncio.run refuses to nest, so ours gets a thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(_run_async(ctx, concurrency))).result()

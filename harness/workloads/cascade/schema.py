"""The legacy database schema of the cascade job (SQLAlchemy ORM), as the original had it:
dimension tables without foreign keys (the bad rows exist because nothing enforced them),
and the two output tables the job inserts into."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Double, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Region(Base):
    __tablename__ = "regions"
    region_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    region_name: Mapped[str] = mapped_column(String(64))
    tax_rate: Mapped[float] = mapped_column(Double)


class Customer(Base):
    __tablename__ = "customers"
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_name: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[int | None] = mapped_column(BigInteger)


class Category(Base):
    __tablename__ = "categories"
    category_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    category_name: Mapped[str] = mapped_column(String(64))


class Product(Base):
    __tablename__ = "products"
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    product_name: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    unit_price: Mapped[float] = mapped_column(Double)


class Enriched(Base):
    __tablename__ = "enriched"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_date: Mapped[dt.date] = mapped_column(Date)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    customer_name: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[int] = mapped_column(BigInteger)
    region_name: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(BigInteger)
    product_name: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[int] = mapped_column(BigInteger)
    category_name: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[float] = mapped_column(Double)
    discount: Mapped[float] = mapped_column(Double)
    gross_amount: Mapped[float] = mapped_column(Double)
    net_amount: Mapped[float] = mapped_column(Double)
    tax_amount: Mapped[float] = mapped_column(Double)
    total_amount: Mapped[float] = mapped_column(Double)


class Quarantine(Base):
    __tablename__ = "quarantine"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(BigInteger)


DIMENSIONS = {"regions": Region, "customers": Customer, "categories": Category,
              "products": Product}

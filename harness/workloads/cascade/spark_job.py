"""Cascade enrichment as a standalone PySpark job.

    spark-submit spark_job.py INPUT_URI OUTPUT_URI

INPUT_URI holds parquet/{orders,customers,regions,products,categories}.parquet (a fixture
directory, locally or in S3); the job writes OUTPUT_URI/enriched and OUTPUT_URI/quarantine
as Parquet. It knows nothing of the harness or of emulators: the same file runs on EMR.
The rules (and the precedence of quarantine reasons) match harness.workloads.cascade.rules.
"""

import json
import sys
import time

PYTHON_STARTED = time.time()  # before pyspark's import: the driver's Python is running

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import (  # noqa: E402
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

DIMENSIONS = ("customers", "regions", "products", "categories")


def _schema(**columns):
    return StructType([StructField(name, kind, nullable=True) for name, kind in columns.items()])


# The input's schema, as the fixture generator writes it. Given to the reader, Spark plans
# each scan at once; without it, every table costs a Spark job that reads its Parquet
# footer on an executor (on a cluster the first one also waits for executors, and on S3
# each is a round of requests). A column the files lack would read as null, so the
# tables' columns are this contract: the generator's test checks them against it.
SCHEMAS = {
    "orders": _schema(order_id=LongType(), order_date=DateType(), customer_id=LongType(),
                      product_id=LongType(), quantity=LongType(), discount=DoubleType()),
    "customers": _schema(customer_id=LongType(), customer_name=StringType(),
                         segment=StringType(), region_id=LongType()),
    "regions": _schema(region_id=LongType(), region_name=StringType(), tax_rate=DoubleType()),
    "products": _schema(product_id=LongType(), product_name=StringType(),
                        category_id=LongType(), unit_price=DoubleType()),
    "categories": _schema(category_id=LongType(), category_name=StringType()),
}


def enrich(orders, customers, regions, products, categories):
    """Return (enriched, quarantine) DataFrames. Dimensions are small: broadcast them."""
    flag = F.lit(True)
    joined = (
        orders.join(F.broadcast(customers.withColumn("_customer", flag)), "customer_id", "left")
        .join(F.broadcast(regions.withColumn("_region", flag)), "region_id", "left")
        .join(F.broadcast(products.withColumn("_product", flag)), "product_id", "left")
        .join(F.broadcast(categories.withColumn("_category", flag)), "category_id", "left")
    )
    reason = (
        F.when(F.col("quantity").isNull() | (F.col("quantity") <= 0), "BAD_QUANTITY")
        .when(F.col("_customer").isNull(), "UNKNOWN_CUSTOMER")
        .when(F.col("_region").isNull(), "MISSING_REGION")
        .when(F.col("_product").isNull(), "UNKNOWN_PRODUCT")
        .when(F.col("_category").isNull(), "UNKNOWN_CATEGORY")
    )
    joined = joined.withColumn("reason", reason)

    quarantine = joined.where(F.col("reason").isNotNull()).select(
        "order_id", "reason", "customer_id", "product_id", "quantity"
    )
    gross = F.col("quantity") * F.col("unit_price")
    net = gross * (F.lit(1.0) - F.col("discount"))
    tax = net * F.col("tax_rate")
    enriched = joined.where(F.col("reason").isNull()).select(
        "order_id", "order_date", "customer_id", "customer_name", "segment", "region_id",
        "region_name", "product_id", "product_name", "category_id", "category_name",
        "quantity", "unit_price", "discount",
        gross.alias("gross_amount"), net.alias("net_amount"), tax.alias("tax_amount"),
        (net + tax).alias("total_amount"),
    )
    return enriched, quarantine


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: spark_job.py INPUT_URI OUTPUT_URI")
    input_uri, output_uri = argv[1].rstrip("/"), argv[2].rstrip("/")
    started = time.time()
    spark = SparkSession.builder.appName("cascade-enrichment").getOrCreate()
    session_ready = time.time()

    def table(name):
        return spark.read.schema(SCHEMAS[name]).parquet(f"{input_uri}/parquet/{name}.parquet")

    enriched, quarantine = enrich(table("orders"), *(table(d) for d in DIMENSIONS))
    read = time.time()
    enriched.write.mode("overwrite").parquet(f"{output_uri}/enriched")
    quarantine.write.mode("overwrite").parquet(f"{output_uri}/quarantine")
    finished = time.time()
    # One machine-readable line for whoever runs the job (the harness, or an EMR step log);
    # `marks` are epoch seconds at each point the job passes, for a breakdown of its time.
    print("enrichment-metrics " + json.dumps({
        "session_start_s": round(session_ready - started, 3),
        "job_s": round(finished - session_ready, 3),
        "spark_version": spark.version,
        "master": spark.sparkContext.master,
        "app_id": spark.sparkContext.applicationId,
        "marks": {"python": round(PYTHON_STARTED, 3), "main": round(started, 3),
                  "session": round(session_ready, 3), "read": round(read, 3),
                  "written": round(finished, 3)},
    }), flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv)

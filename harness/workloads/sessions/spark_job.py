"""Click-stream sessionisation as a standalone PySpark job (window functions).

    spark-submit spark_job.py INPUT_URI OUTPUT_URI

Reads INPUT_URI/parquet/clicks.parquet; writes OUTPUT_URI/sessions and
OUTPUT_URI/quarantine. A session ends after 30 minutes without a click.
"""

import sys

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

GAP_S = 30 * 60


def main(argv):
    src, dst = argv[1].rstrip("/"), argv[2].rstrip("/")
    spark = SparkSession.builder.appName("sessionisation").getOrCreate()
    clicks = spark.read.parquet(f"{src}/parquet/clicks.parquet")
    reason = (F.when(F.col("user_id").isNull(), "NO_USER")
              .when(F.col("ts").isNull(), "NO_TIMESTAMP"))
    clicks = clicks.withColumn("reason", reason)
    clicks.where(F.col("reason").isNotNull()).select("click_id", "reason") \
        .write.mode("overwrite").parquet(f"{dst}/quarantine")
    by_user = Window.partitionBy("user_id").orderBy("ts", "click_id")
    good = clicks.where(F.col("reason").isNull())
    gap = F.col("ts") - F.lag("ts").over(by_user)
    flagged = good.withColumn("new", F.when(gap.isNull() | (gap > GAP_S), 1).otherwise(0))
    numbered = flagged.withColumn("session", F.sum("new").over(
        by_user.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
    numbered.groupBy("user_id", "session").agg(
        F.min("ts").alias("session_start"), F.max("ts").alias("session_end"),
        F.count("*").cast("int").alias("clicks"),
    ).drop("session").write.mode("overwrite").parquet(f"{dst}/sessions")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv)

"""A step that prints what its driver and its executors see of the job flow's
Configurations and of a --files file renamed with #name."""

import json
import os
import sys

from pyspark import SparkFiles, TaskContext
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.appName("conf-probe").getOrCreate()
with open("settings.json") as fh:  # the driver's working directory, as YARN localises it
    settings = json.load(fh)


@udf("string")
def executor_view(_):
    # a SQL job's settings reach its tasks as local properties
    with open(SparkFiles.get("settings.json")) as fh:
        env = json.load(fh)["env"]
    partitions = TaskContext.get().getLocalProperty("spark.sql.shuffle.partitions")
    return json.dumps([partitions, os.environ.get("GREETING"), env])


seen = {tuple(json.loads(row[0])) for row in
        spark.range(0, 2, 1, 2).select(executor_view("id")).collect()}
out = sys.argv[1]
spark.range(5).write.mode("overwrite").parquet(out)
print("probe " + json.dumps({
    "driver_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
    "driver_greeting": os.environ.get("GREETING"),
    "driver_settings": settings["env"],
    "executors": sorted(seen),
    "s3a_read_back": spark.read.parquet(out.replace("s3n://", "s3a://")).count(),
}))
spark.stop()

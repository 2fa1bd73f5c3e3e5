import org.apache.spark.sql.SparkSession;

/** A Java Spark application run by spark-submit --class. */
public class SparkCount {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("java-count").getOrCreate();
        long n = spark.read().parquet(args[0]).count();
        System.out.println("java-spark rows=" + n + " partitions="
            + spark.conf().get("spark.sql.shuffle.partitions"));
        spark.stop();
    }
}

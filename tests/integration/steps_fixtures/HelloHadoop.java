import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** A CUSTOM_JAR main class: Hadoop's classpath, core-site.xml and S3A, as `hadoop jar`. */
public class HelloHadoop {
    public static void main(String[] args) throws Exception {
        Configuration conf = new Configuration();
        FileSystem fs = FileSystem.get(URI.create(args[0]), conf);
        System.out.println("custom-jar greeting=" + System.getProperty("greeting")
            + " exists=" + fs.exists(new Path(args[0])) + " scheme=" + fs.getScheme());
    }
}

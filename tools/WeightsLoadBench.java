import dev.autograd.io.Weights;
import java.nio.file.Path;

/**
 * Load time of weights files, best of 15 reads in one JVM (a measurement, not a test):
 * <pre>
 * mvn -B -q -pl engine -am compile
 * java -cp engine/target/classes:kernels/target/classes tools/WeightsLoadBench.java FILE...
 * </pre>
 */
public class WeightsLoadBench {
    public static void main(String[] files) {
        for (String f : files) {
            long best = Long.MAX_VALUE;
            int n = 0;
            for (int i = 0; i < 15; i++) {
                long t = System.nanoTime();
                n = Weights.read(Path.of(f)).size();
                best = Math.min(best, System.nanoTime() - t);
            }
            System.out.printf("%s: %d tensors, best of 15: %.1f ms%n", f, n, best / 1e6);
        }
    }
}

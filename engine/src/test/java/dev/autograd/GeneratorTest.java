package dev.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The default generator's distributions: moments and tail fractions over many samples, and seeding. */
class GeneratorTest {

    private static final int N = 1 << 20;

    @Test
    void normalHasStandardMomentsAndTails() {
        float[] x = new float[N];
        new Generator(7).fillNormal(x);
        double sum = 0;
        double sq = 0;
        double fourth = 0;
        int within1 = 0;
        int beyond3 = 0;
        for (float v : x) {
            assertTrue(Float.isFinite(v));
            sum += v;
            sq += (double) v * v;
            fourth += (double) v * v * v * v;
            within1 += Math.abs(v) < 1 ? 1 : 0;
            beyond3 += Math.abs(v) > 3 ? 1 : 0;
        }
        // standard errors at N = 2^20: mean 0.001, variance 0.0014, kurtosis 0.005 (x5 margins)
        assertEquals(0.0, sum / N, 0.005);
        assertEquals(1.0, sq / N, 0.007);
        assertEquals(3.0, fourth / N, 0.03);
        assertEquals(0.6827, within1 / (double) N, 0.003);
        assertEquals(0.0027, beyond3 / (double) N, 0.0005);
    }

    @Test
    void uniformIsInRangeWithUniformMoments() {
        float[] x = new float[N];
        new Generator(11).fillUniform(x);
        double sum = 0;
        double sq = 0;
        for (float v : x) {
            assertTrue(v >= 0f && v < 1f, "out of [0, 1): " + v);
            sum += v;
            sq += (double) v * v;
        }
        assertEquals(0.5, sum / N, 0.002);
        assertEquals(1.0 / 3, sq / N, 0.002);
    }

    @Test
    void oddLengthsAndSeedsAreReproducible() {
        float[] a = new float[1001];
        float[] b = new float[1001];
        new Generator(3).fillNormal(a);
        new Generator(3).fillNormal(b);
        assertArrayEquals(a, b);
        assertTrue(Float.isFinite(a[1000]) && a[1000] != 0f);
    }
}

package dev.autograd;

/**
 * A seedable random number generator (xoshiro256**, seeded through SplitMix64). Each thread has its
 * own default generator ({@link #current()}), so random ops are reproducible per thread after
 * {@link #manualSeed(long)} and threads never contend; pass an explicit Generator to share a stream.
 * Values differ from PyTorch's (mt19937); only their distributions match.
 */
public final class Generator {
    /** PyTorch's default CPU seed. */
    public static final long DEFAULT_SEED = 67280421310721L;

    private static final ThreadLocal<Generator> CURRENT = ThreadLocal.withInitial(() -> new Generator(DEFAULT_SEED));

    private long s0;
    private long s1;
    private long s2;
    private long s3;
    private long seed;

    public Generator(long seed) {
        manualSeed(seed);
    }

    /** The calling thread's default generator. */
    public static Generator current() {
        return CURRENT.get();
    }

    /** Reseeds this generator; the same seed gives the same stream. */
    public Generator manualSeed(long seed) {
        this.seed = seed;
        long x = seed;
        s0 = splitMix(x += 0x9E3779B97F4A7C15L);
        s1 = splitMix(x += 0x9E3779B97F4A7C15L);
        s2 = splitMix(x += 0x9E3779B97F4A7C15L);
        s3 = splitMix(x + 0x9E3779B97F4A7C15L);
        return this;
    }

    public long initialSeed() {
        return seed;
    }

    private static long splitMix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** Uniform in [0, 1) with 24 random bits, as float32 sampling needs. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Fills with uniform [0, 1) values (creation, not a hot loop). */
    public void fillUniform(float[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = nextFloat();
        }
    }

    /**
     * Fills with standard normal values: Marsaglia's polar method, a pair of normals per accepted
     * point (u, v) of the unit disc (about 79% are accepted), with one log and one square root and no
     * trigonometry: filling ResNet-18's 11.7M weights is most of building the model, which a cold
     * single step waits for.
     */
    public void fillNormal(float[] out) {
        int i = 0;
        while (i < out.length) {
            long bits = nextLong();
            // two uniforms in [-1, 1) from the high and low 32 bits
            double u = (int) (bits >>> 32) * 0x1.0p-31;
            double v = (int) bits * 0x1.0p-31;
            double s = u * u + v * v;
            if (s >= 1.0 || s == 0.0) {
                continue;
            }
            double f = Math.sqrt(-2.0 * Math.log(s) / s);
            out[i++] = (float) (u * f);
            if (i < out.length) {
                out[i++] = (float) (v * f);
            }
        }
    }

    /** Uniform in [low, high). */
    public void fillUniform(float[] out, float low, float high) {
        for (int i = 0; i < out.length; i++) {
            out[i] = low + (high - low) * nextFloat();
        }
    }
}

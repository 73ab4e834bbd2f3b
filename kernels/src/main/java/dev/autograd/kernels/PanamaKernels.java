package dev.autograd.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on {@code jdk.incubator.vector}. Loaded by name from {@link KernelProvider} only when the
 * module is readable.
 *
 * <p><b>One width per JVM.</b> The species is a {@code static final} chosen once, at class
 * initialisation, from {@code autograd.vectorBits} (default: the CPU's preferred width). The JIT
 * only emits vector instructions for a species it sees as a constant; a species in an instance field
 * made kernels 13x slower. The tests therefore run once per width, in separate JVMs (Lucene's
 * {@code tests.vectorsize} does the same).
 *
 * <p><b>Loop shape.</b> Every SIMD loop: a small-size guard (scalar below a couple of vectors, where
 * the set-up costs more than it saves), a {@code loopBound} body, several independent accumulators
 * in reductions (one add/FMA chain is latency-bound: 4 cycles per op against 2 ops per cycle), and a
 * scalar tail (tails are shorter than one vector; a masked tail measured no faster for elementwise
 * ops and a scalar tail keeps the rounding identical to the reference). Large elementwise jobs are
 * split over {@link Parallel}'s pool: memory bandwidth grows with the cores that pull on it.
 */
public class PanamaKernels extends ScalarKernels {

    /** The species of every kernel: a constant for the JIT. */
    static final VectorSpecies<Float> S = species(KernelProvider.requestedBits());
    /** The int species with as many lanes (argmax). */
    static final VectorSpecies<Integer> SI = VectorSpecies.of(int.class, S.vectorShape());
    static final int L = S.length();
    /**
     * The species of the same-shape binary loops ({@code add}, {@code sub}, {@code mul}, {@code div}):
     * at most 256 bits. Over operands from memory the Zen 4 moves more bytes with 256-bit loads than
     * with 512-bit ones: {@code add} over 32M floats, C with intrinsics, 256 against 512 bits, 6 of 6
     * pairs 4-13% faster on 1 and 2 threads; these loops at 256 bits, {@code bench add}, 6 of 8
     * alternating rounds faster on each of 1 and 2 threads (medians 19.6 against 18.7 GB/s and 33.8
     * against 28.4). Its loops only load, apply one lanewise operator and store: with the other
     * kernels at 512 bits, LogCompilation of the training step showed no class-check trap, and the
     * step's collections and time stayed within the host's spread (a second shape inside the
     * tap-class kernels had made every kernel slower; see docs/performance.md). On AVX2 and below
     * it is {@link #S}.
     */
    static final VectorSpecies<Float> SB = S.vectorBitSize() > 256 ? FloatVector.SPECIES_256 : S;
    static final int LB = SB.length();

    /**
     * Elementwise jobs below this many elements stay on the calling thread. 1 << 16 dates from a
     * ForkJoinPool (about 10 us per job); with the spinning workers of {@link Parallel} a job starts
     * within a microsecond, and 1 << 14 took the B=1 step from p25 24.2 to 23.2 ms (median 25.5 to
     * 24.6), B=16 115.1 to 113.9 (median equal), step by step in one JVM; 1 << 13 was no different.
     */
    static final int PARALLEL_GRAIN = 1 << 14;

    static VectorSpecies<Float> species(int bits) {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int chosen = bits <= 0 ? preferred : Math.min(bits, preferred);
        return VectorSpecies.of(float.class, VectorShape.forBitSize(chosen));
    }

    /**
     * @param bits 0 for the width chosen at start-up, or that width; other widths need a JVM started
     *             with {@code -Dautograd.vectorBits=...} because the species is a JIT constant.
     */
    public PanamaKernels(int bits) {
        if (bits > 0 && species(bits).vectorBitSize() != S.vectorBitSize()) {
            throw new IllegalArgumentException("this JVM's SIMD kernels are " + S.vectorBitSize()
                    + "-bit; start it with -D" + KernelProvider.VECTOR_BITS_PROPERTY + "=" + bits + " for " + bits);
        }
    }

    @Override
    public String name() {
        return "simd-" + S.vectorBitSize();
    }

    @Override
    public int vectorBitSize() {
        return S.vectorBitSize();
    }

    // ================================================================ elementwise

    @Override
    public void fill(float value, float[] out, int outOffset, int n) {
        // Arrays.fill is already vectorised by C2 (superword) and memory-bound
        java.util.Arrays.fill(out, outOffset, outOffset + n, value);
    }

    @Override
    public void unary(Unary op, float[] x, int xOffset, float[] out, int outOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            unaryRange(op, x, xOffset, out, outOffset, n);
        } else {
            UnaryCall call = UNARY_CALLS.get();
            call.op = op;
            call.x = x;
            call.xo = xOffset;
            call.out = out;
            call.oo = outOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #unary}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class UnaryCall extends Parallel.RangeCall {
        Unary op;
        float[] x, out;
        int xo, oo;

        @Override
        public void run(int from, int to) {
            unaryRange(op, x, xo + from, out, oo + from, to - from);
        }

        @Override
        void clear() {
            x = out = null;
        }
    }

    private static final Parallel.Reused<UnaryCall> UNARY_CALLS = new Parallel.Reused<>(UnaryCall::new);

    private static void unaryRange(Unary op, float[] x, int xo, float[] out, int oo, int n) {
        switch (op) {
            case NEG -> neg(x, xo, out, oo, n);
            case ABS -> abs(x, xo, out, oo, n);
            case SQRT -> sqrt(x, xo, out, oo, n);
            case EXP -> exp(x, xo, out, oo, n);
            case LOG -> log(x, xo, out, oo, n);
            case TANH -> tanh(x, xo, out, oo, n);
            case RELU -> relu(x, xo, out, oo, n);
            case SIGMOID -> sigmoid(x, xo, out, oo, n);
        }
    }

    // One loop per operator, each naming its operator as a constant: the Vector API only compiles
    // to vector instructions when the operator is a JIT constant (a VectorOperators argument made
    // these loops 3x slower than scalar code). EXP/LOG/TANH go to the JDK's vector math stubs
    // (Intel SVML on x86). Small-size guard: none needed, the vector loop simply does not run.
    // Tail: scalar, fewer than one vector of elements.

    private static void neg(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.neg().intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.NEG, x[xo + i]);
        }
    }

    private static void abs(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.abs().intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.ABS, x[xo + i]);
        }
    }

    private static void sqrt(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.sqrt().intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.SQRT, x[xo + i]);
        }
    }

    private static void exp(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.lanewise(VectorOperators.EXP).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.EXP, x[xo + i]);
        }
    }

    private static void log(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.lanewise(VectorOperators.LOG).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.LOG, x[xo + i]);
        }
    }

    private static void tanh(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            v.lanewise(VectorOperators.TANH).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.TANH, x[xo + i]);
        }
    }

    private static void relu(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector zero = FloatVector.zero(S);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            // v <= 0 is false for NaN, so NaN propagates (PyTorch); -0 becomes +0 as in the reference
            v.blend(zero, v.compare(VectorOperators.LE, 0f)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.RELU, x[xo + i]);
        }
    }

    private static void sigmoid(float[] x, int xo, float[] out, int oo, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            // 1 / (1 + e^-x): e^-x overflows to +inf for x < -88, giving exactly 0 as in the reference
            one.div(v.neg().lanewise(VectorOperators.EXP).add(1f)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Unary.SIGMOID, x[xo + i]);
        }
    }

    @Override
    public void unaryBackward(Unary op, float[] grad, int gradOffset, float[] x, int xOffset,
                              float[] y, int yOffset, float[] out, int outOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            unaryBackwardRange(op, grad, gradOffset, x, xOffset, y, yOffset, out, outOffset, n);
        } else {
            UnaryBackwardCall call = UNARY_BACKWARD_CALLS.get();
            call.op = op;
            call.g = grad;
            call.go = gradOffset;
            call.x = x;
            call.xo = xOffset;
            call.y = y;
            call.yo = yOffset;
            call.out = out;
            call.oo = outOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #unaryBackward}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class UnaryBackwardCall extends Parallel.RangeCall {
        Unary op;
        float[] g, x, y, out;
        int go, xo, yo, oo;

        @Override
        public void run(int from, int to) {
            unaryBackwardRange(op, g, go + from, x, xo + from, y, yo + from, out, oo + from, to - from);
        }

        @Override
        void clear() {
            g = x = y = out = null;
        }
    }

    private static final Parallel.Reused<UnaryBackwardCall> UNARY_BACKWARD_CALLS =
            new Parallel.Reused<>(UnaryBackwardCall::new);

    private static void unaryBackwardRange(Unary op, float[] g, int go, float[] x, int xo,
                                           float[] y, int yo, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector zero = FloatVector.zero(S);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (; i < bound; i += L) {
            FloatVector gv = FloatVector.fromArray(S, g, go + i);
            FloatVector d = switch (op) {
                case NEG -> gv.neg();
                case EXP -> gv.mul(FloatVector.fromArray(S, y, yo + i));
                case LOG -> gv.div(FloatVector.fromArray(S, x, xo + i));
                case SQRT -> gv.mul(FloatVector.broadcast(S, 0.5f).div(FloatVector.fromArray(S, y, yo + i)));
                case ABS -> {
                    FloatVector xv = FloatVector.fromArray(S, x, xo + i);
                    // PyTorch's sgn: positives 1, negatives -1, +-0 and NaN 0
                    FloatVector sign = zero.blend(one, xv.compare(VectorOperators.GT, 0f))
                            .blend(one.neg(), xv.compare(VectorOperators.LT, 0f));
                    yield gv.mul(sign);
                }
                case RELU -> {
                    // select, as PyTorch's threshold_backward: 0 where x <= 0 (also for an infinite grad), grad elsewhere (NaN x too)
                    FloatVector xv = FloatVector.fromArray(S, x, xo + i);
                    yield gv.blend(zero, xv.compare(VectorOperators.LE, 0f));
                }
                case SIGMOID -> {
                    FloatVector yv = FloatVector.fromArray(S, y, yo + i);
                    yield gv.mul(yv.mul(one.sub(yv)));
                }
                case TANH -> {
                    FloatVector yv = FloatVector.fromArray(S, y, yo + i);
                    yield gv.mul(one.sub(yv.mul(yv)));
                }
            };
            FloatVector.fromArray(S, out, oo + i).add(d).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            float xi = x == null ? 0f : x[xo + i];
            float yi = y == null ? 0f : y[yo + i];
            out[oo + i] += backwardTerm(op, g[go + i], xi, yi);
        }
    }

    @Override
    public void reluBackward(float[] grad, int gradOffset, float[] x, int xOffset, float[] out, int outOffset, int n) {
        unaryBackward(Unary.RELU, grad, gradOffset, x, xOffset, null, 0, out, outOffset, n);
    }

    /**
     * A select per vector. The scalar loop it overrides branches on the sign of y, which on a
     * ReLU's output is a coin toss: 9 ms for 1M floats instead of a fraction of one.
     */
    @Override
    public void reluMask(float[] y, int yOffset, float[] grad, int gradOffset, float[] out, int outOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            reluMaskRange(y, yOffset, grad, gradOffset, out, outOffset, n);
        } else {
            ReluMaskCall call = RELU_MASK_CALLS.get();
            call.y = y;
            call.yo = yOffset;
            call.g = grad;
            call.go = gradOffset;
            call.out = out;
            call.oo = outOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #reluMask}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class ReluMaskCall extends Parallel.RangeCall {
        float[] y, g, out;
        int yo, go, oo;

        @Override
        public void run(int from, int to) {
            reluMaskRange(y, yo + from, g, go + from, out, oo + from, to - from);
        }

        @Override
        void clear() {
            y = g = out = null;
        }
    }

    private static final Parallel.Reused<ReluMaskCall> RELU_MASK_CALLS = new Parallel.Reused<>(ReluMaskCall::new);

    private static void reluMaskRange(float[] y, int yo, float[] g, int go, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector zero = FloatVector.zero(S);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, g, go + i)
                    .blend(zero, FloatVector.fromArray(S, y, yo + i).compare(VectorOperators.LE, 0f))
                    .intoArray(out, oo + i);
        }
        ScalarKernels.reluMaskLoop(y, yo + i, g, go + i, out, oo + i, n - i);
    }

    @Override
    public void pow(float[] x, int xOffset, float exponent, float[] out, int outOffset, int n) {
        if (exponent == 2f) {
            // x*x in float is the correctly rounded square, identical to (float) Math.pow(x, 2)
            binary(Binary.MUL, x, xOffset, x, xOffset, out, outOffset, n);
            return;
        }
        if (exponent == 1f) {
            System.arraycopy(x, xOffset, out, outOffset, n);
            return;
        }
        int i = 0;
        if (exponent == 0.5f) {
            // sqrt is IEEE-exact, as PyTorch's pow(x, 0.5) fast path
            int bound = S.loopBound(n);
            for (; i < bound; i += L) {
                FloatVector.fromArray(S, x, xOffset + i).lanewise(VectorOperators.SQRT).intoArray(out, outOffset + i);
            }
        }
        // Other exponents: a scalar loop. VectorOperators.POW gives different bits interpreted and
        // C2-compiled (measured on JDK 25: 29 of 4096 lanes), which made results depend on JIT timing;
        // KernelFuzzTest caught it as "2 threads differ from 1 thread".
        for (; i < n; i++) {
            out[outOffset + i] = powScalar(x[xOffset + i], exponent);
        }
    }

    @Override
    public void powBackward(float[] grad, int gradOffset, float[] x, int xOffset, float exponent,
                            float[] out, int outOffset, int n) {
        if (exponent == 0f) {
            return;
        }
        int i = 0;
        // vectors only where x^(exponent-1) needs no POW (see pow: its bits depend on the JIT)
        int bound = exponent == 2f || exponent == 1f ? S.loopBound(n) : 0;
        for (; i < bound; i += L) {
            FloatVector xv = FloatVector.fromArray(S, x, xOffset + i);
            FloatVector p = exponent == 2f ? xv : FloatVector.broadcast(S, 1f);
            FloatVector gv = FloatVector.fromArray(S, grad, gradOffset + i).mul(exponent);
            FloatVector.fromArray(S, out, outOffset + i).add(gv.mul(p)).intoArray(out, outOffset + i);
        }
        for (; i < n; i++) {
            out[outOffset + i] += grad[gradOffset + i] * exponent * (float) Math.pow(x[xOffset + i], exponent - 1f);
        }
    }

    @Override
    public void binary(Binary op, float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            binaryRange(op, a, aOffset, b, bOffset, out, outOffset, n);
        } else {
            BinaryCall call = BINARY_CALLS.get();
            call.op = op;
            call.a = a;
            call.ao = aOffset;
            call.b = b;
            call.bo = bOffset;
            call.out = out;
            call.oo = outOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #binary}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class BinaryCall extends Parallel.RangeCall {
        Binary op;
        float[] a, b, out;
        int ao, bo, oo;

        @Override
        public void run(int from, int to) {
            binaryRange(op, a, ao + from, b, bo + from, out, oo + from, to - from);
        }

        @Override
        void clear() {
            a = b = out = null;
        }
    }

    private static final Parallel.Reused<BinaryCall> BINARY_CALLS = new Parallel.Reused<>(BinaryCall::new);

    private static void binaryRange(Binary op, float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        switch (op) {
            case ADD -> add(a, ao, b, bo, out, oo, n);
            case SUB -> sub(a, ao, b, bo, out, oo, n);
            case MUL -> mul(a, ao, b, bo, out, oo, n);
            case DIV -> div(a, ao, b, bo, out, oo, n);
        }
    }

    // One loop per operator (constant operator, see above), on SB's vectors; two vectors per
    // iteration halve the loop overhead (the iterations are independent: no chain to break), then
    // one vector, then a scalar tail of fewer than one vector.

    private static void add(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int i = 0;
        int bound2 = n - n % (2 * LB);
        for (; i < bound2; i += 2 * LB) {
            FloatVector x0 = FloatVector.fromArray(SB, a, ao + i);
            FloatVector x1 = FloatVector.fromArray(SB, a, ao + i + LB);
            x0.add(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
            x1.add(FloatVector.fromArray(SB, b, bo + i + LB)).intoArray(out, oo + i + LB);
        }
        int bound = SB.loopBound(n);
        for (; i < bound; i += LB) {
            FloatVector.fromArray(SB, a, ao + i).add(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.ADD, a[ao + i], b[bo + i]);
        }
    }

    private static void sub(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int i = 0;
        int bound2 = n - n % (2 * LB);
        for (; i < bound2; i += 2 * LB) {
            FloatVector x0 = FloatVector.fromArray(SB, a, ao + i);
            FloatVector x1 = FloatVector.fromArray(SB, a, ao + i + LB);
            x0.sub(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
            x1.sub(FloatVector.fromArray(SB, b, bo + i + LB)).intoArray(out, oo + i + LB);
        }
        int bound = SB.loopBound(n);
        for (; i < bound; i += LB) {
            FloatVector.fromArray(SB, a, ao + i).sub(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.SUB, a[ao + i], b[bo + i]);
        }
    }

    private static void mul(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int i = 0;
        int bound2 = n - n % (2 * LB);
        for (; i < bound2; i += 2 * LB) {
            FloatVector x0 = FloatVector.fromArray(SB, a, ao + i);
            FloatVector x1 = FloatVector.fromArray(SB, a, ao + i + LB);
            x0.mul(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
            x1.mul(FloatVector.fromArray(SB, b, bo + i + LB)).intoArray(out, oo + i + LB);
        }
        int bound = SB.loopBound(n);
        for (; i < bound; i += LB) {
            FloatVector.fromArray(SB, a, ao + i).mul(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.MUL, a[ao + i], b[bo + i]);
        }
    }

    private static void div(float[] a, int ao, float[] b, int bo, float[] out, int oo, int n) {
        int i = 0;
        int bound2 = n - n % (2 * LB);
        for (; i < bound2; i += 2 * LB) {
            FloatVector x0 = FloatVector.fromArray(SB, a, ao + i);
            FloatVector x1 = FloatVector.fromArray(SB, a, ao + i + LB);
            x0.div(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
            x1.div(FloatVector.fromArray(SB, b, bo + i + LB)).intoArray(out, oo + i + LB);
        }
        int bound = SB.loopBound(n);
        for (; i < bound; i += LB) {
            FloatVector.fromArray(SB, a, ao + i).div(FloatVector.fromArray(SB, b, bo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.DIV, a[ao + i], b[bo + i]);
        }
    }

    @Override
    public void binaryScalar(Binary op, float[] a, int aOffset, float s, float[] out, int outOffset, int n) {
        withScalarOnPool(op, a, aOffset, s, false, out, outOffset, n);
    }

    @Override
    public void scalarBinary(Binary op, float s, float[] b, int bOffset, float[] out, int outOffset, int n) {
        withScalarOnPool(op, b, bOffset, s, true, out, outOffset, n);
    }

    private static void withScalarOnPool(Binary op, float[] x, int xOffset, float s, boolean scalarFirst,
                                         float[] out, int outOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            withScalar(op, x, xOffset, s, scalarFirst, out, outOffset, n);
        } else {
            WithScalarCall call = WITH_SCALAR_CALLS.get();
            call.op = op;
            call.x = x;
            call.xo = xOffset;
            call.s = s;
            call.scalarFirst = scalarFirst;
            call.out = out;
            call.oo = outOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #withScalar}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class WithScalarCall extends Parallel.RangeCall {
        Binary op;
        float[] x, out;
        int xo, oo;
        float s;
        boolean scalarFirst;

        @Override
        public void run(int from, int to) {
            withScalar(op, x, xo + from, s, scalarFirst, out, oo + from, to - from);
        }

        @Override
        void clear() {
            x = out = null;
        }
    }

    private static final Parallel.Reused<WithScalarCall> WITH_SCALAR_CALLS = new Parallel.Reused<>(WithScalarCall::new);

    /** {@code out = x op s}, or {@code s op x} when {@code scalarFirst}: one constant-operator loop each. */
    private static void withScalar(Binary op, float[] x, int xo, float s, boolean scalarFirst,
                                   float[] out, int oo, int n) {
        if (scalarFirst) {
            switch (op) {
                case ADD -> addScalarFirst(s, x, xo, out, oo, n);
                case SUB -> subScalarFirst(s, x, xo, out, oo, n);
                case MUL -> mulScalarFirst(s, x, xo, out, oo, n);
                case DIV -> divScalarFirst(s, x, xo, out, oo, n);
            }
        } else {
            switch (op) {
                case ADD -> addScalar(x, xo, s, out, oo, n);
                case SUB -> subScalar(x, xo, s, out, oo, n);
                case MUL -> mulScalar(x, xo, s, out, oo, n);
                case DIV -> divScalar(x, xo, s, out, oo, n);
            }
        }
    }

    private static void addScalar(float[] x, int xo, float s, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).add(sv).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.ADD, x[xo + i], s);
        }
    }

    private static void addScalarFirst(float s, float[] x, int xo, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            sv.add(FloatVector.fromArray(S, x, xo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.ADD, s, x[xo + i]);
        }
    }

    private static void subScalar(float[] x, int xo, float s, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).sub(sv).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.SUB, x[xo + i], s);
        }
    }

    private static void subScalarFirst(float s, float[] x, int xo, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            sv.sub(FloatVector.fromArray(S, x, xo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.SUB, s, x[xo + i]);
        }
    }

    private static void mulScalar(float[] x, int xo, float s, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).mul(sv).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.MUL, x[xo + i], s);
        }
    }

    private static void mulScalarFirst(float s, float[] x, int xo, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            sv.mul(FloatVector.fromArray(S, x, xo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.MUL, s, x[xo + i]);
        }
    }

    private static void divScalar(float[] x, int xo, float s, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).div(sv).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.DIV, x[xo + i], s);
        }
    }

    private static void divScalarFirst(float s, float[] x, int xo, float[] out, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            sv.div(FloatVector.fromArray(S, x, xo + i)).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = apply(Binary.DIV, s, x[xo + i]);
        }
    }

    /**
     * Broadcasting, by rows: dimensions that are contiguous in all three operands are merged, then
     * the innermost run is one of the fast paths (same shape, row broadcast {@code b[j]}, column
     * broadcast {@code b[i, 0]} as a scalar per row) and only the outer odometer is scalar.
     */
    @Override
    public void binaryStrided(Binary op, int[] shape, float[] a, int aOffset, int[] aStrides,
                              float[] b, int bOffset, int[] bStrides, float[] out, int outOffset) {
        int rank = shape.length;
        if (rank == 0) {
            out[outOffset] = apply(op, a[aOffset], b[bOffset]);
            return;
        }
        // coalesce trailing dimensions: (d, d+1) merge when both operands step through them as one
        // (in the calling thread's scratch, longer than rank: only the first rank entries count)
        int[] sh = Scratch.ints(STRIDED_SHAPE, rank);
        int[] as = Scratch.ints(STRIDED_A, rank);
        int[] bs = Scratch.ints(STRIDED_B, rank);
        System.arraycopy(shape, 0, sh, 0, rank);
        System.arraycopy(aStrides, 0, as, 0, rank);
        System.arraycopy(bStrides, 0, bs, 0, rank);
        int r = rank;
        for (int d = rank - 2; d >= 0; d--) {
            int last = r - 1;
            if (d == last - 1 && as[d] == as[last] * sh[last] && bs[d] == bs[last] * sh[last]) {
                sh[d] *= sh[last];
                as[d] = as[last];
                bs[d] = bs[last];
                r--;
            } else {
                break;
            }
        }
        for (int d = 0; d < rank; d++) {
            if (sh[d] == 0) {
                return;
            }
        }
        int inner = sh[r - 1];
        int ia = as[r - 1];
        int ib = bs[r - 1];
        int rows = 1;
        for (int d = 0; d < r - 1; d++) {
            rows *= sh[d];
        }
        int[] index = Scratch.ints(STRIDED_INDEX, r);
        java.util.Arrays.fill(index, 0, r, 0);
        int ai = aOffset;
        int bi = bOffset;
        for (int row = 0; row < rows; row++) {
            int oo = outOffset + row * inner;
            if (ia == 1 && ib == 1) {
                binaryRange(op, a, ai, b, bi, out, oo, inner);
            } else if (ia == 1 && ib == 0) {
                withScalar(op, a, ai, b[bi], false, out, oo, inner);
            } else if (ia == 0 && ib == 1) {
                withScalar(op, b, bi, a[ai], true, out, oo, inner);
            } else {
                for (int j = 0; j < inner; j++) {
                    out[oo + j] = apply(op, a[ai + j * ia], b[bi + j * ib]);
                }
            }
            // odometer over the outer dimensions
            for (int d = r - 2; d >= 0; d--) {
                if (++index[d] < sh[d]) {
                    ai += as[d];
                    bi += bs[d];
                    break;
                }
                ai -= as[d] * (sh[d] - 1);
                bi -= bs[d] * (sh[d] - 1);
                index[d] = 0;
            }
        }
    }

    /** {@link #binaryStrided}'s merged shape, strides and index, per thread. */
    private static final ThreadLocal<int[]> STRIDED_SHAPE = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> STRIDED_A = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> STRIDED_B = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> STRIDED_INDEX = ThreadLocal.withInitial(() -> new int[0]);

    @Override
    public void copyStrided(int[] shape, float[] x, int xOffset, int[] xStrides, float[] out, int outOffset) {
        int rank = shape.length;
        if (rank == 0) {
            out[outOffset] = x[xOffset];
            return;
        }
        // dimensions of size 1 take no part (batch 1's [1, O, P]), so a transpose stays 2-D
        int[] sh = Scratch.ints(COPY_SHAPE, rank);
        int[] xs = Scratch.ints(COPY_STRIDES, rank);
        int r = 0;
        for (int d = 0; d < rank; d++) {
            if (shape[d] != 1) {
                sh[r] = shape[d];
                xs[r++] = xStrides[d];
            }
        }
        if (r == 0) {
            out[outOffset] = x[xOffset];
            return;
        }
        while (r >= 2 && xs[r - 2] == xs[r - 1] * sh[r - 1]) {
            sh[r - 2] *= sh[r - 1];
            xs[r - 2] = xs[r - 1];
            r--;
        }
        for (int d = 0; d < r; d++) {
            if (sh[d] == 0) {
                return;
            }
        }
        int inner = sh[r - 1];
        int ix = xs[r - 1];
        int rows = 1;
        for (int d = 0; d < r - 1; d++) {
            rows *= sh[d];
        }
        if (r == 2 && xs[0] == 1 && ix >= sh[0] && L >= 8 && sh[0] >= L && inner >= 8) {
            // ranges of whole blocks of eight columns (the last range takes the rest)
            int rowsT = sh[0];
            TransposeCall call = TRANSPOSE_CALLS.get();
            call.rowsT = rowsT;
            call.inner = inner;
            call.x = x;
            call.xOffset = xOffset;
            call.ix = ix;
            call.out = out;
            call.outOffset = outOffset;
            Parallel.forRange(inner, Math.max(8, PARALLEL_GRAIN / rowsT), 8, call);
            return;
        }
        // rows in ranges on the pool's threads: the convolutions' [O, B, P] <-> [B, O, P] copies ran
        // on the calling thread alone (about 3 ms of a batch-16 step while the other core waited)
        int mergedRank = r;
        CopyRowsCall rowsCall = COPY_ROWS_CALLS.get();
        rowsCall.mergedRank = mergedRank;
        rowsCall.sh = sh;
        rowsCall.xs = xs;
        rowsCall.inner = inner;
        rowsCall.ix = ix;
        rowsCall.x = x;
        rowsCall.xOffset = xOffset;
        rowsCall.out = out;
        rowsCall.outOffset = outOffset;
        Parallel.forRange(rows, Math.max(1, PARALLEL_GRAIN / Math.max(1, inner)), 1, rowsCall);
    }

    /**
     * {@link #copyStrided}'s merged shape and strides, and {@link #copyRows}' index, per thread (the
     * shape and strides are the caller's, read by the pool's threads until the call returns).
     */
    private static final ThreadLocal<int[]> COPY_SHAPE = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> COPY_STRIDES = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> COPY_INDEX = ThreadLocal.withInitial(() -> new int[0]);

    /** {@link #copyStrided}'s blocks of columns of a transpose, for the pool (see {@link Parallel.Call}). */
    private static final class TransposeCall extends Parallel.RangeCall {
        int rowsT, inner, xOffset, ix, outOffset;
        float[] x, out;

        @Override
        public void run(int c0, int c1) {
            transpose(rowsT, inner, c0, c1, x, xOffset, ix, out, outOffset);
        }

        @Override
        void clear() {
            x = out = null;
        }
    }

    private static final Parallel.Reused<TransposeCall> TRANSPOSE_CALLS = new Parallel.Reused<>(TransposeCall::new);

    /** {@link #copyStrided}'s rows, for the pool (see {@link Parallel.Call}). */
    private static final class CopyRowsCall extends Parallel.RangeCall {
        int mergedRank, inner, ix, xOffset, outOffset;
        int[] sh, xs;
        float[] x, out;

        @Override
        public void run(int from, int to) {
            copyRows(mergedRank, sh, xs, inner, ix, x, xOffset, out, outOffset, from, to);
        }

        @Override
        void clear() {
            sh = xs = null;
            x = out = null;
        }
    }

    private static final Parallel.Reused<CopyRowsCall> COPY_ROWS_CALLS = new Parallel.Reused<>(CopyRowsCall::new);

    /** Rows [from, to) of {@link #copyStrided} (after merging): row i's offset in x from its index. */
    private static void copyRows(int r, int[] sh, int[] xs, int inner, int ix, float[] x, int xOffset,
                                 float[] out, int outOffset, int from, int to) {
        int[] index = Scratch.ints(COPY_INDEX, r);
        int xi = xOffset;
        for (int d = r - 2, rest = from; d >= 0; d--) {
            index[d] = rest % sh[d];
            rest /= sh[d];
            xi += index[d] * xs[d];
        }
        for (int row = from; row < to; row++) {
            int oo = outOffset + row * inner;
            if (ix == 1) {
                System.arraycopy(x, xi, out, oo, inner);
            } else if (ix == 0) {
                java.util.Arrays.fill(out, oo, oo + inner, x[xi]);
            } else {
                for (int j = 0; j < inner; j++) {
                    out[oo + j] = x[xi + j * ix];
                }
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++index[d] < sh[d]) {
                    xi += xs[d];
                    break;
                }
                xi -= xs[d] * (sh[d] - 1);
                index[d] = 0;
            }
        }
    }

    /**
     * {@code out[i][j] = x[xOffset + i + j*ld]} for columns [c0, c1), out being rows x cols: blocks
     * of L rows by 8 columns transposed in registers ({@link Gemm#transpose8}: eight loads of L
     * floats, 24 permutes, one masked store per row of eight), the edges element by element. The
     * general strided loop read one float per cache line of x: ResNet-18's layer4 column gradient
     * at batch 16 (4608 x 64 from 64 x 4608) took 0.60-0.73 ms.
     */
    private static void transpose(int rows, int cols, int c0, int c1, float[] x, int xOffset, int ld, float[] out,
                                  int outOffset) {
        int rowsBlocked = rows - rows % L;
        int colsBlocked = c0 + (c1 - c0) / 8 * 8;
        for (int j = c0; j < colsBlocked; j += 8) {
            for (int i = 0; i < rowsBlocked; i += L) {
                Gemm.transpose8(x, xOffset + i + j * ld, ld, out, outOffset + i * cols + j, cols);
            }
        }
        for (int i = 0; i < rows; i++) {
            int from = i < rowsBlocked ? colsBlocked : c0;
            for (int j = from; j < c1; j++) {
                out[outOffset + i * cols + j] = x[xOffset + i + j * ld];
            }
        }
    }

    @Override
    public void scale(float[] x, int xOffset, float alpha, float[] out, int outOffset, int n) {
        binaryScalar(Binary.MUL, x, xOffset, alpha, out, outOffset, n);
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        if (n < PARALLEL_GRAIN) {
            axpyRange(alpha, x, xOffset, y, yOffset, n);
        } else {
            AxpyCall call = AXPY_CALLS.get();
            call.alpha = alpha;
            call.x = x;
            call.xo = xOffset;
            call.y = y;
            call.yo = yOffset;
            Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
        }
    }

    /** {@link #axpy}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class AxpyCall extends Parallel.RangeCall {
        float alpha;
        float[] x, y;
        int xo, yo;

        @Override
        public void run(int from, int to) {
            axpyRange(alpha, x, xo + from, y, yo + from, to - from);
        }

        @Override
        void clear() {
            x = y = null;
        }
    }

    private static final Parallel.Reused<AxpyCall> AXPY_CALLS = new Parallel.Reused<>(AxpyCall::new);

    static void axpyRange(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        // no FMA: alpha*x rounded, then added, exactly like the scalar reference
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).mul(alpha).add(FloatVector.fromArray(S, y, yo + i))
                    .intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }

    // ================================================================ reductions

    /**
     * Sums are taken in blocks of this many floats with four float vector accumulators, and the
     * block sums added in double: float error stays that of a 4096-element sum however long x is,
     * and the blocks are fixed, so the result does not depend on the thread count.
     */
    static final int SUM_BLOCK = 4096;

    @Override
    public float sum(float[] x, int xOffset, int n) {
        return (float) blockedSum(x, xOffset, n, false);
    }

    @Override
    public float sumOfSquares(float[] x, int xOffset, int n) {
        return (float) blockedSum(x, xOffset, n, true);
    }

    private static double blockedSum(float[] x, int xo, int n, boolean squares) {
        int blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
        if (n < 4 * PARALLEL_GRAIN || Parallel.parallelism() == 1) {
            double total = 0;
            for (int blk = 0; blk < blocks; blk++) {
                int from = blk * SUM_BLOCK;
                total += sumBlock(x, xo + from, Math.min(SUM_BLOCK, n - from), squares);
            }
            return total;
        }
        double[] partial = sumPartials(blocks);
        SumCall call = SUM_CALLS.get();
        call.x = x;
        call.xo = xo;
        call.n = n;
        call.squares = squares;
        call.partial = partial;
        Parallel.forRange(blocks, 16, 1, call);
        double total = 0;
        for (int blk = 0; blk < blocks; blk++) {
            total += partial[blk]; // fixed order: identical for any thread count
        }
        return total;
    }

    /**
     * The calling thread's buffer of per-block sums, grown on demand: a new array per call was the
     * one allocation of a parallel sum (2 KB per million floats, JMH {@code -prof gc}). Safe to
     * reuse: the caller waits for every task before it reads the buffer, and a sum called inside
     * the pool runs serially without it.
     */
    private static final ThreadLocal<double[]> SUM_PARTIALS = ThreadLocal.withInitial(() -> new double[0]);

    private static double[] sumPartials(int blocks) {
        return Scratch.doubles(SUM_PARTIALS, blocks);
    }

    /** {@link #blockedSum}'s arguments for the pool (see {@link Parallel.Call}): blocks [b0, b1) into partial. */
    private static final class SumCall extends Parallel.RangeCall {
        float[] x;
        int xo, n;
        boolean squares;
        double[] partial;

        @Override
        public void run(int b0, int b1) {
            for (int blk = b0; blk < b1; blk++) {
                int from = blk * SUM_BLOCK;
                partial[blk] = sumBlock(x, xo + from, Math.min(SUM_BLOCK, n - from), squares);
            }
        }

        @Override
        void clear() {
            x = null;
            partial = null;
        }
    }

    private static final Parallel.Reused<SumCall> SUM_CALLS = new Parallel.Reused<>(SumCall::new);

    /**
     * The sum of n floats, or of their squares. Each loop ends with addLanes' rounds written out:
     * called from batch norm's lambdas five calls deep, {@code addLanes} was not inlined, and the
     * vector handed to it was boxed on the heap (JFR over a B=16 training step: 2.5 GB in 20 s).
     * Same additions in the same order as {@code addLanes}.
     */
    static float sumBlock(float[] x, int xo, int n, boolean squares) {
        return squares ? sumSquaresBlock(x, xo, n) : sumPlainBlock(x, xo, n);
    }

    private static float sumPlainBlock(float[] x, int xo, int n) {
        int i = 0;
        float tail = 0f;
        if (n >= 4 * L) { // small-size guard: below four vectors the set-up outweighs the loop
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = FloatVector.zero(S);
            FloatVector s2 = FloatVector.zero(S);
            FloatVector s3 = FloatVector.zero(S);
            int bound = n - n % (4 * L);
            // four independent chains hide the 4-cycle add latency
            for (; i < bound; i += 4 * L) {
                s0 = s0.add(FloatVector.fromArray(S, x, xo + i));
                s1 = s1.add(FloatVector.fromArray(S, x, xo + i + L));
                s2 = s2.add(FloatVector.fromArray(S, x, xo + i + 2 * L));
                s3 = s3.add(FloatVector.fromArray(S, x, xo + i + 3 * L));
            }
            FloatVector s = s0.add(s1).add(s2.add(s3));
            if (L > 16) {
                tail = addLanes(s);
            } else {
                if (L >= 16) {
                    s = s.add(s.rearrange(ROTATE_8));
                }
                if (L >= 8) {
                    s = s.add(s.rearrange(ROTATE_4));
                }
                if (L >= 4) {
                    s = s.add(s.rearrange(ROTATE_2));
                }
                tail = s.lane(0) + s.lane(1);
            }
        }
        double t = tail;
        for (; i < n; i++) { // scalar tail: fewer than four vectors
            t += x[xo + i];
        }
        return (float) t;
    }

    private static float sumSquaresBlock(float[] x, int xo, int n) {
        int i = 0;
        float tail = 0f;
        if (n >= 4 * L) {
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = FloatVector.zero(S);
            FloatVector s2 = FloatVector.zero(S);
            FloatVector s3 = FloatVector.zero(S);
            int bound = n - n % (4 * L);
            for (; i < bound; i += 4 * L) {
                FloatVector v0 = FloatVector.fromArray(S, x, xo + i);
                FloatVector v1 = FloatVector.fromArray(S, x, xo + i + L);
                FloatVector v2 = FloatVector.fromArray(S, x, xo + i + 2 * L);
                FloatVector v3 = FloatVector.fromArray(S, x, xo + i + 3 * L);
                s0 = v0.fma(v0, s0);
                s1 = v1.fma(v1, s1);
                s2 = v2.fma(v2, s2);
                s3 = v3.fma(v3, s3);
            }
            FloatVector s = s0.add(s1).add(s2.add(s3));
            if (L > 16) {
                tail = addLanes(s);
            } else {
                if (L >= 16) {
                    s = s.add(s.rearrange(ROTATE_8));
                }
                if (L >= 8) {
                    s = s.add(s.rearrange(ROTATE_4));
                }
                if (L >= 4) {
                    s = s.add(s.rearrange(ROTATE_2));
                }
                tail = s.lane(0) + s.lane(1);
            }
        }
        double t = tail;
        for (; i < n; i++) {
            double v = x[xo + i];
            t += v * v;
        }
        return (float) t;
    }

    /**
     * The sum of the lanes by a fixed pairwise tree. {@code reduceLanes(ADD)} leaves the order open,
     * and the JIT's order differs from the interpreter's: results would change with warm-up.
     */
    static float addLanes(FloatVector v) {
        // the rounds for this width only, written out: L is a constant, so the untaken ifs fold
        // away; a loop over an array of shuffles carried the vector from one round to the next,
        // which C2 boxed on the heap in the training step (JFR allocation samples: 225 MB in 8 s)
        if (L > 16) {
            // wider than x86's 512 bits (SVE): the general loop, correct if slower
            for (int w = L / 2; w >= 1; w /= 2) {
                v = v.add(v.rearrange(rotation(w)));
            }
            return v.lane(0);
        }
        if (L >= 16) {
            v = v.add(v.rearrange(ROTATE_8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(ROTATE_4));
        }
        if (L >= 4) {
            v = v.add(v.rearrange(ROTATE_2));
        }
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    /**
     * {@link #addLanes} of the vector stored at {@code t[off ..]}, in scalar code with the same
     * additions in the same order (lane j + w added to lane j for w = L/2, ..., 1): bit-identical,
     * for kernels that would otherwise pass their vectors to a call. Overwrites the L floats.
     */
    static float laneSum(float[] t, int off) {
        for (int w = L / 2; w >= 1; w /= 2) {
            for (int j = 0; j < w; j++) {
                t[off + j] += t[off + j + w];
            }
        }
        return t[off];
    }

    /**
     * For {@link #addLanes}: rotations by L/2, L/4, ..., 1 lanes (those wider than the vector are
     * never used). Lane 0's tree only reads lanes below L, so it is the tree of {@code v.add(v.slice(w))};
     * a rotation is one permute, where slice(w) (which shifts zeros in) took 11 instead of 3.5 ns
     * per sum compiled and 730 instead of 110 ns interpreted. The skinny GEMM (ResNet-18's layer4
     * at batch 1) writes the same rounds out for its eight sums (Gemm.dot2x4).
     */
    static final VectorShuffle<Float> ROTATE_8 = rotation(8);
    static final VectorShuffle<Float> ROTATE_4 = rotation(4);
    static final VectorShuffle<Float> ROTATE_2 = rotation(2);
    static final VectorShuffle<Float> ROTATE_1 = rotation(1);

    private static VectorShuffle<Float> rotation(int w) {
        return VectorShuffle.fromOp(S, j -> (j + w) % L);
    }

    @Override
    public float max(float[] x, int xOffset, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= 4 * L) {
            FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            FloatVector m1 = m0;
            FloatVector m2 = m0;
            FloatVector m3 = m0;
            int bound = n - n % (4 * L);
            for (; i < bound; i += 4 * L) {
                // MAX follows Math.max: NaN propagates through every lane it meets
                m0 = m0.max(FloatVector.fromArray(S, x, xOffset + i));
                m1 = m1.max(FloatVector.fromArray(S, x, xOffset + i + L));
                m2 = m2.max(FloatVector.fromArray(S, x, xOffset + i + 2 * L));
                m3 = m3.max(FloatVector.fromArray(S, x, xOffset + i + 3 * L));
            }
            FloatVector all = m0.max(m1).max(m2.max(m3));
            if (all.test(VectorOperators.IS_NAN).anyTrue()) {
                return Float.NaN;
            }
            m = all.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            float v = x[xOffset + i];
            if (v != v) {
                return v;
            }
            if (v > m) {
                m = v;
            }
        }
        return m;
    }

    @Override
    public void sumDim(float[] x, int xOffset, int outer, int reduce, int inner, float[] out, int outOffset) {
        if (inner == 1) {
            for (int o = 0; o < outer; o++) {
                out[outOffset + o] = sum(x, xOffset + o * reduce, reduce);
            }
            return;
        }
        for (int o = 0; o < outer; o++) {
            int base = xOffset + o * reduce * inner;
            int ob = outOffset + o * inner;
            int i = 0;
            // columns in chunks of four vectors: four independent accumulators, each summing its
            // column down the reduced dimension (rows are inner floats apart)
            int bound4 = inner - inner % (4 * L);
            for (; i < bound4; i += 4 * L) {
                FloatVector s0 = FloatVector.zero(S);
                FloatVector s1 = FloatVector.zero(S);
                FloatVector s2 = FloatVector.zero(S);
                FloatVector s3 = FloatVector.zero(S);
                for (int r = 0, idx = base + i; r < reduce; r++, idx += inner) {
                    s0 = s0.add(FloatVector.fromArray(S, x, idx));
                    s1 = s1.add(FloatVector.fromArray(S, x, idx + L));
                    s2 = s2.add(FloatVector.fromArray(S, x, idx + 2 * L));
                    s3 = s3.add(FloatVector.fromArray(S, x, idx + 3 * L));
                }
                s0.intoArray(out, ob + i);
                s1.intoArray(out, ob + i + L);
                s2.intoArray(out, ob + i + 2 * L);
                s3.intoArray(out, ob + i + 3 * L);
            }
            int bound = S.loopBound(inner);
            for (; i < bound; i += L) {
                FloatVector s0 = FloatVector.zero(S);
                for (int r = 0, idx = base + i; r < reduce; r++, idx += inner) {
                    s0 = s0.add(FloatVector.fromArray(S, x, idx));
                }
                s0.intoArray(out, ob + i);
            }
            for (; i < inner; i++) {
                double s = 0;
                for (int r = 0; r < reduce; r++) {
                    s += x[base + r * inner + i];
                }
                out[ob + i] = (float) s;
            }
        }
    }

    @Override
    public void maxDim(float[] x, int xOffset, int outer, int reduce, int inner,
                       float[] out, int outOffset, long[] argmax) {
        if (inner == 1 && reduce >= 4 * L) {
            // a max over contiguous rows (argmax over classes): the vector max, then the first
            // index holding it (or the first NaN, which wins as in PyTorch)
            for (int o = 0; o < outer; o++) {
                int base = xOffset + o * reduce;
                float m = max(x, base, reduce);
                out[outOffset + o] = m;
                if (argmax != null) {
                    int r = 0;
                    if (m != m) {
                        while (x[base + r] == x[base + r]) {
                            r++;
                        }
                    } else {
                        while (x[base + r] != m) {
                            r++;
                        }
                    }
                    argmax[o] = r;
                }
            }
            return;
        }
        if (inner < L || reduce == 0) {
            super.maxDim(x, xOffset, outer, reduce, inner, out, outOffset, argmax);
            return;
        }
        for (int o = 0; o < outer; o++) {
            int base = xOffset + o * reduce * inner;
            int ob = outOffset + o * inner;
            int i = 0;
            int bound = S.loopBound(inner);
            for (; i < bound; i += L) {
                FloatVector m = FloatVector.fromArray(S, x, base + i);
                IntVector arg = IntVector.zero(SI);
                for (int r = 1, idx = base + inner + i; r < reduce; r++, idx += inner) {
                    FloatVector v = FloatVector.fromArray(S, x, idx);
                    // take v where it is larger, or where it is the first NaN of its lane: a lane
                    // whose max is NaN keeps it. (A mask carried from one row to the next instead,
                    // "NaN seen", was boxed by C2 on every row: 3 MB per 4096 x 256 max.)
                    VectorMask<Float> take = v.compare(VectorOperators.GT, m)
                            .or(v.test(VectorOperators.IS_NAN)).andNot(m.test(VectorOperators.IS_NAN));
                    m = m.blend(v, take);
                    arg = arg.blend(r, take.cast(SI));
                }
                m.intoArray(out, ob + i);
                if (argmax != null) {
                    int at = o * inner + i;
                    ((LongVector) arg.convertShape(VectorOperators.I2L, SL, 0)).intoArray(argmax, at);
                    ((LongVector) arg.convertShape(VectorOperators.I2L, SL, 1)).intoArray(argmax, at + L / 2);
                }
            }
            for (; i < inner; i++) {
                float m = Float.NEGATIVE_INFINITY;
                int arg = 0;
                for (int r = 0; r < reduce; r++) {
                    float v = x[base + r * inner + i];
                    if (v != v) {
                        m = v;
                        arg = r;
                        break;
                    }
                    if (v > m || r == 0) {
                        m = v;
                        arg = r;
                    }
                }
                out[ob + i] = m;
                if (argmax != null) {
                    argmax[o * inner + i] = arg;
                }
            }
        }
    }

    // ================================================================ GEMM

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                      float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
                      float beta, float[] c, int cOffset, int ldc) {
        Gemm.sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);
    }

    /** The products run whole on different threads: no product shares a panel with another. */
    @Override
    public void sgemmBatch(int count, boolean transA, boolean transB, int m, int n, int k, float alpha,
                           float[] a, int aOffset, int strideA, int lda, float[] b, int bOffset, int strideB, int ldb,
                           float beta, float[] c, int cOffset, int strideC, int ldc) {
        if (count == 1 || (long) m * n * k * count < Gemm.PARALLEL_FLOPS) {
            super.sgemmBatch(count, transA, transB, m, n, k, alpha, a, aOffset, strideA, lda,
                    b, bOffset, strideB, ldb, beta, c, cOffset, strideC, ldc);
            return;
        }
        BatchCall call = BATCH_CALLS.get();
        call.transA = transA;
        call.transB = transB;
        call.m = m;
        call.n = n;
        call.k = k;
        call.alpha = alpha;
        call.beta = beta;
        call.a = a;
        call.b = b;
        call.c = c;
        call.aOffset = aOffset;
        call.strideA = strideA;
        call.lda = lda;
        call.bOffset = bOffset;
        call.strideB = strideB;
        call.ldb = ldb;
        call.cOffset = cOffset;
        call.strideC = strideC;
        call.ldc = ldc;
        Parallel.run(count, call);
    }

    /** {@link #sgemmBatch}'s products, one per task, for the pool (see {@link Parallel.Call}). */
    private static final class BatchCall extends Parallel.TaskCall {
        boolean transA, transB;
        int m, n, k, aOffset, strideA, lda, bOffset, strideB, ldb, cOffset, strideC, ldc;
        float alpha, beta;
        float[] a, b, c;

        @Override
        public void accept(int i) {
            Gemm.sgemm(transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                    beta, c, cOffset + i * strideC, ldc);
        }

        @Override
        void clear() {
            a = b = c = null;
        }
    }

    private static final Parallel.Reused<BatchCall> BATCH_CALLS = new Parallel.Reused<>(BatchCall::new);

    // ================================================================ Winograd F(m x m, 3x3)

    @Override
    public void winogradWeights(int tile, float[] w, int wOffset, int outC, int channels, float[] u) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.weights(w, wOffset, outC, channels, u);
        } else {
            Winograd4.weights(w, wOffset, outC, channels, u);
        }
    }

    @Override
    public void winogradInput(int tile, float[] x, int xOffset, int batch, int channels, int height, int width,
                              int padH, int padW, int outH, int outW, float[] v) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.input(x, xOffset, batch, channels, height, width, padH, padW, outH, outW, v);
        } else {
            Winograd4.input(x, xOffset, batch, channels, height, width, padH, padW, outH, outW, v);
        }
    }

    @Override
    public void winogradOutput(int tile, float[] m, int batch, int outC, int outH, int outW, float[] out, int outOffset) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.output(m, batch, outC, outH, outW, out, outOffset);
        } else {
            Winograd4.output(m, batch, outC, outH, outW, out, outOffset);
        }
    }

    @Override
    public void winogradGradOutput(int tile, float[] grad, int gradOffset, int batch, int outC, int outH, int outW,
                                   float[] dm) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.gradOutput(grad, gradOffset, batch, outC, outH, outW, dm);
        } else {
            Winograd4.gradOutput(grad, gradOffset, batch, outC, outH, outW, dm);
        }
    }

    @Override
    public void winogradInputBackward(int tile, float[] dv, int batch, int channels, int height, int width,
                                      int padH, int padW, int outH, int outW, float[] gx, int gxOffset) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.inputBackward(dv, batch, channels, height, width, padH, padW, outH, outW, gx, gxOffset);
        } else {
            Winograd4.inputBackward(dv, batch, channels, height, width, padH, padW, outH, outW, gx, gxOffset);
        }
    }

    @Override
    public void winogradWeightsBackward(int tile, float[] du, int outC, int channels, float beta, float[] dw,
                                        int dwOffset) {
        if (ScalarKernels.winogradTile(tile) == 2) {
            Winograd.weightsBackward(du, outC, channels, beta, dw, dwOffset);
        } else {
            Winograd4.weightsBackward(du, outC, channels, beta, dw, dwOffset);
        }
    }

    // ================================================================ convolution and pooling

    /**
     * Images whose padded plane has at most this many floats (32 KB: a chunk of them stays in L1)
     * go through {@link #im2colGathered}; larger ones as runs ({@link #im2colRuns}), where each
     * output row is a long copy anyway. Measured on ResNet-18's shapes in the Kernels section of
     * docs/performance.md.
     */
    static final int GATHER_MAX_PLANE = Integer.getInteger("autograd.im2col.gatherMaxPlane", 8192);
    /**
     * col2im adds element by element through a table ({@link #col2imGathered}) only for output rows
     * at most this wide; longer runs are added as vectors ({@link #col2imRuns}). JMH
     * {@code ConvBenchmark.col2im} (batch 8, 3x3, 2 threads, ops/s, two runs each, Zen 4), the
     * table's loop scalar since the AVX-512 scatters went: by the table against as runs, rows of 2
     * (512x2x2) 7,725/7,941 against 5,059/3,858 and of 4 (256x4x4) 4,809/4,764 against 4,390/3,424;
     * of 7 (512x7x7) 929/861 against 1,009/1,001, of 8 even, of 14 (128x28x28, stride 2) 664/617
     * against 1,000/1,147 and of 16 (64x16x16) 1,555/1,232 against 2,165/2,236. It was 16 while the
     * table's loop scattered (16 images of 32x32: 3.9 ms as runs, 4.5-5.8 scattered).
     */
    static final int SCATTER_MAX_WIDTH = 4;

    @Override
    public void im2col(float[] x, int xOffset, int batch, int channels, int height, int width,
                       int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                       int outH, int outW, float[] col, int colOffset, int ldCol) {
        if (batch <= 0 || channels <= 0 || outH <= 0 || outW <= 0) {
            return;
        }
        ConvGeometry g = GEOMETRY.get().set(batch, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW);
        int[] table = g.gathered() ? g.table(TABLE.get()) : null;
        // channels write disjoint rows of col: split them over the pool (on one thread, nothing is allocated)
        if ((long) channels * g.perChannel() < PARALLEL_GRAIN || Parallel.parallelism() <= 1) {
            im2colChannels(0, channels, x, xOffset, channels, g, table, col, colOffset, ldCol);
        } else {
            Im2colCall call = IM2COL_CALLS.get();
            call.x = x;
            call.col = col;
            call.xOffset = xOffset;
            call.channels = channels;
            call.colOffset = colOffset;
            call.ldCol = ldCol;
            call.g = g;
            call.table = table;
            Parallel.forRange(channels, (int) Math.max(1, PARALLEL_GRAIN / g.perChannel()), 1, call);
        }
    }

    /** {@link #im2col}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class Im2colCall extends Parallel.RangeCall {
        float[] x, col;
        int xOffset, channels, colOffset, ldCol;
        ConvGeometry g;
        int[] table;

        @Override
        public void run(int c0, int c1) {
            im2colChannels(c0, c1, x, xOffset, channels, g, table, col, colOffset, ldCol);
        }

        @Override
        void clear() {
            x = col = null;
            g = null;
            table = null;
        }
    }

    private static final Parallel.Reused<Im2colCall> IM2COL_CALLS = new Parallel.Reused<>(Im2colCall::new);

    private static void im2colChannels(int c0, int c1, float[] x, int xOffset, int channels, ConvGeometry g,
                                       int[] table, float[] col, int colOffset, int ldCol) {
        if (table != null) {
            im2colGathered(c0, c1, x, xOffset, channels, g, table, col, colOffset, ldCol);
        } else {
            im2colRuns(c0, c1, x, xOffset, channels, g, col, colOffset, ldCol);
        }
    }

    /**
     * The sizes of one convolution's im2col, and for small images the gather table: column
     * {@code j = (b*outH + oh)*outW + ow} of a chunk reads the padded channel copy ([chunk, padded
     * height, padded width]) at {@code table[j] + ki*dilationH*paddedWidth + kj*dilationW}, always inside.
     */
    private static final class ConvGeometry {
        private int batch;
        private int height;
        private int width;
        private int kH;
        private int kW;
        private int padH;
        private int padW;
        private int strideH;
        private int strideW;
        private int dilationH;
        private int dilationW;
        private int outH;
        private int outW;

        /** Refilled by each call on its thread (one object per thread: a call allocates nothing). */
        ConvGeometry set(int batch, int height, int width, int kH, int kW, int padH, int padW,
                         int strideH, int strideW, int dilationH, int dilationW, int outH, int outW) {
            this.batch = batch;
            this.height = height;
            this.width = width;
            this.kH = kH;
            this.kW = kW;
            this.padH = padH;
            this.padW = padW;
            this.strideH = strideH;
            this.strideW = strideW;
            this.dilationH = dilationH;
            this.dilationW = dilationW;
            this.outH = outH;
            this.outW = outW;
            return this;
        }

        int batch() {
            return batch;
        }

        int height() {
            return height;
        }

        int width() {
            return width;
        }

        int kH() {
            return kH;
        }

        int kW() {
            return kW;
        }

        int padH() {
            return padH;
        }

        int padW() {
            return padW;
        }

        int strideH() {
            return strideH;
        }

        int strideW() {
            return strideW;
        }

        int dilationH() {
            return dilationH;
        }

        int dilationW() {
            return dilationW;
        }

        int outH() {
            return outH;
        }

        int outW() {
            return outW;
        }

        int plane() {
            return outH * outW;
        }

        int columns() {
            return batch * plane();
        }

        long perChannel() {
            return (long) kH * kW * columns();
        }

        int paddedHeight() {
            return height + 2 * padH;
        }

        int paddedWidth() {
            return width + 2 * padW;
        }

        /** The first output column whose tap kj reads inside the image: ow*strideW + kj*dilationW - padW >= 0. */
        int firstInside(int kj) {
            return Math.max(0, Math.min(outW, ceilDiv(padW - kj * dilationW, strideW)));
        }

        /** One past the last output column whose tap kj reads inside the image (at least {@code firstInside}). */
        int endInside(int kj) {
            return Math.max(firstInside(kj), Math.min(outW, ceilDiv(width + padW - kj * dilationW, strideW)));
        }

        /** Where tap (ki, kj) of a window reads in the padded copy, relative to the gather table's offset. */
        int tapOffset(int ki, int kj) {
            return ki * dilationH * paddedWidth() + kj * dilationW;
        }

        boolean gathered() {
            return L >= 8 && (long) paddedHeight() * paddedWidth() <= GATHER_MAX_PLANE;
        }

        /** Images per padded copy: as many as fit in {@link #GATHER_MAX_PLANE} floats. */
        int chunk() {
            return Math.max(1, Math.min(batch, GATHER_MAX_PLANE / (paddedHeight() * paddedWidth())));
        }

        /** The gather table of one chunk of images. */
        int[] table(int[] scratch) {
            int n = chunk() * plane();
            int[] t = scratch.length >= n ? scratch : new int[n];
            if (t != scratch) {
                TABLE.set(t);
            }
            int wp = paddedWidth();
            for (int b = 0, j = 0; b < chunk(); b++) {
                for (int oh = 0; oh < outH; oh++) {
                    int rowStart = (b * paddedHeight() + oh * strideH) * wp;
                    for (int ow = 0; ow < outW; ow++, j++) {
                        t[j] = rowStart + ow * strideW;
                    }
                }
            }
            return t;
        }

        /**
         * One channel of {@code count} images into {@code xp} [count, padded height, padded width],
         * zeros around: one fill of the whole buffer (it is in L1), then row copies. A fill and a
         * copy call per row instead cost more than the gathers (a tenth of a conv's time on 2x2 images).
         */
        void pad(float[] x, int channelOffset, int image, int count, float[] xp) {
            int wp = paddedWidth();
            int hp = paddedHeight();
            java.util.Arrays.fill(xp, 0, count * hp * wp, 0f);
            for (int b = 0; b < count; b++) {
                for (int h = 0; h < height; h++) {
                    copyRow(x, channelOffset + b * image + h * width, xp, (b * hp + h + padH) * wp + padW, width);
                }
            }
        }

        /** The interior of {@code xp} back into one channel of {@code count} images (overwriting). */
        void unpad(float[] xp, float[] x, int channelOffset, int image, int count) {
            int wp = paddedWidth();
            int hp = paddedHeight();
            for (int b = 0; b < count; b++) {
                for (int h = 0; h < height; h++) {
                    copyRow(xp, (b * hp + h + padH) * wp + padW, x, channelOffset + b * image + h * width, width);
                }
            }
        }

        /** A short row by a plain loop (compiled inline), a long one by arraycopy. */
        private static void copyRow(float[] src, int from, float[] dst, int to, int n) {
            if (n >= 64) {
                System.arraycopy(src, from, dst, to, n);
                return;
            }
            for (int i = 0; i < n; i++) {
                dst[to + i] = src[from + i];
            }
        }

        float[] scratch() {
            int size = chunk() * paddedHeight() * paddedWidth();
            float[] xp = PADDED.get();
            if (xp.length < size) {
                xp = new float[size];
                PADDED.set(xp);
            }
            return xp;
        }
    }

    /** Per thread: the caller's geometry and gather table, and each worker's padded copy of one channel. */
    private static final ThreadLocal<ConvGeometry> GEOMETRY = ThreadLocal.withInitial(ConvGeometry::new);
    private static final ThreadLocal<int[]> TABLE = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<float[]> PADDED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Small images: one channel of a chunk of images is copied with its padding into a buffer that
     * stays in L1, then each of its kH*kW rows of col is a run of gathers through the table, with
     * no bounds tests: per conv, as many gathers as col has vectors, instead of a short copy and
     * fill per output row.
     */
    private static void im2colGathered(int c0, int c1, float[] x, int xOffset, int channels, ConvGeometry g,
                                       int[] table, float[] col, int colOffset, int ldCol) {
        int image = channels * g.height() * g.width();
        float[] xp = g.scratch();
        for (int c = c0; c < c1; c++) {
            for (int b0 = 0; b0 < g.batch(); b0 += g.chunk()) {
                int count = Math.min(g.chunk(), g.batch() - b0);
                int n = count * g.plane();
                g.pad(x, xOffset + b0 * image + c * g.height() * g.width(), image, count, xp);
                for (int ki = 0; ki < g.kH(); ki++) {
                    for (int kj = 0; kj < g.kW(); kj++) {
                        int dst = colOffset + ((c * g.kH() + ki) * g.kW() + kj) * ldCol + b0 * g.plane();
                        int off = g.tapOffset(ki, kj);
                        int j = 0;
                        for (int bound = n - L; j <= bound; j += L) {
                            FloatVector.fromArray(S, xp, off, table, j).intoArray(col, dst + j);
                        }
                        for (; j < n; j++) {
                            col[dst + j] = xp[off + table[j]];
                        }
                    }
                }
            }
        }
    }

    /** Large images: per output row, a copy of its run inside the image and zeros outside. */
    private static void im2colRuns(int c0, int c1, float[] x, int xOffset, int channels, ConvGeometry g,
                                   float[] col, int colOffset, int ldCol) {
        int height = g.height();
        int width = g.width();
        int outW = g.outW();
        int strideW = g.strideW();
        int image = channels * height * width;
        for (int c = c0; c < c1; c++) {
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++) {
                    int row = (c * g.kH() + ki) * g.kW() + kj;
                    int dw = kj * g.dilationW() - g.padW();
                    int owLo = g.firstInside(kj);
                    int owHi = g.endInside(kj);
                    for (int b = 0; b < g.batch(); b++) {
                        int base = colOffset + row * ldCol + b * g.plane();
                        for (int oh = 0; oh < g.outH(); oh++) {
                            int h = oh * g.strideH() - g.padH() + ki * g.dilationH();
                            int dst = base + oh * outW;
                            if (h < 0 || h >= height) {
                                java.util.Arrays.fill(col, dst, dst + outW, 0f);
                                continue;
                            }
                            int src = xOffset + b * image + (c * height + h) * width + dw;
                            for (int ow = 0; ow < owLo; ow++) {
                                col[dst + ow] = 0f;
                            }
                            if (strideW == 1) {
                                System.arraycopy(x, src + owLo, col, dst + owLo, owHi - owLo);
                            } else {
                                for (int ow = owLo; ow < owHi; ow++) {
                                    col[dst + ow] = x[src + ow * strideW];
                                }
                            }
                            for (int ow = owHi; ow < outW; ow++) {
                                col[dst + ow] = 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Packed from the images ({@link ImageColumns}, {@link Gemm#conv}) when the GEMM takes its packed
     * paths; otherwise (a few columns, rows or taps) through the column matrix as the interface says.
     * ResNet-18 at batch 16: the 9.4 MB column matrix of a layer1 conv was written by im2col and
     * read back by packB in 32-float pieces of rows 16 KB apart.
     */
    @Override
    public void conv2dGemm(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                           int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                           int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        long n = (long) batch * outH * outW;
        long k = (long) channels * kH * kW;
        if (!fromImages(false, outC, (int) Math.min(n, Integer.MAX_VALUE), (int) Math.min(k, Integer.MAX_VALUE), k, n,
                batch, channels, height, width, padH, padW)) {
            super.conv2dGemm(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, out, outOffset);
            return;
        }
        Gemm.conv(w, wOffset, outC, ImageColumns.of(x, xOffset, batch, channels, height, width, kH, kW, padH, padW,
                strideH, strideW, dilationH, dilationW, outH, outW), out, outOffset);
    }

    /**
     * The weight gradient's B panels gathered from the images too: for a layer1 conv at batch 16 the
     * transposed panels were gathered from column-matrix rows 16 KB apart; the image's rows for 32
     * consecutive taps lie within a few KB of each other.
     */
    @Override
    public void conv2dWeightGrad(float[] grad, int gradOffset, int outC, float[] x, int xOffset, int batch,
                                 int channels, int height, int width, int kH, int kW, int padH, int padW,
                                 int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                 float beta, float[] dw, int dwOffset) {
        long n = (long) batch * outH * outW;
        long k = (long) channels * kH * kW;
        if (!fromImages(true, outC, (int) Math.min(k, Integer.MAX_VALUE), (int) Math.min(n, Integer.MAX_VALUE), k, n,
                batch, channels, height, width, padH, padW)) {
            super.conv2dWeightGrad(grad, gradOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, beta, dw, dwOffset);
            return;
        }
        int plane = outH * outW;
        int images = deepChunkImages(outC, k, batch, plane);
        if (images == 0 || !fromImages(true, outC, (int) k, images * plane, k, (long) images * plane,
                images, channels, height, width, padH, padW)) {
            Gemm.convWeightGrad(grad, gradOffset, (int) n, outC, ImageColumns.of(x, xOffset, batch, channels, height,
                    width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW), beta, dw, dwOffset);
            return;
        }
        // a small gradient over a long depth: chunks of images, each into its own partial, summed;
        // grad [outC, N] holds a chunk's images as one outC x (images * P) matrix, rows N apart
        weightGradByChunks(grad, gradOffset, plane, (int) n, images, images, outC, x, xOffset, batch, channels,
                height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, beta, dw,
                dwOffset);
    }

    /**
     * The depth split of {@link #conv2dWeightGrad}: chunks of {@code images} images, each chunk's
     * products into its own partial gradient, then the partials summed in chunk order (results do
     * not depend on the thread count). Image b's gradient starts at {@code gradOffset + b *
     * gradImage}, rows {@code ldGrad} apart; a chunk is multiplied {@code perProduct} images at a time
     * (its later products adding into its partial).
     */
    private static void weightGradByChunks(float[] grad, int gradOffset, int gradImage, int ldGrad, int perProduct,
                                           int images, int outC, float[] x, int xOffset, int batch, int channels,
                                           int height, int width, int kH, int kW, int padH, int padW, int strideH,
                                           int strideW, int dilationH, int dilationW, int outH, int outW,
                                           float beta, float[] dw, int dwOffset) {
        int size = outC * channels * kH * kW;
        int chunks = ceilDiv(batch, images);
        float[] partials = Scratch.floats(DEEP_PARTIALS, chunks * size);
        int xImage = channels * height * width;
        ChunksCall call = CHUNKS_CALLS.get();
        call.batch = batch;
        call.images = images;
        call.perProduct = perProduct;
        call.grad = grad;
        call.gradOffset = gradOffset;
        call.gradImage = gradImage;
        call.ldGrad = ldGrad;
        call.outC = outC;
        call.x = x;
        call.xOffset = xOffset;
        call.xImage = xImage;
        call.channels = channels;
        call.height = height;
        call.width = width;
        call.kH = kH;
        call.kW = kW;
        call.padH = padH;
        call.padW = padW;
        call.strideH = strideH;
        call.strideW = strideW;
        call.dilationH = dilationH;
        call.dilationW = dilationW;
        call.outH = outH;
        call.outW = outW;
        call.partials = partials;
        call.size = size;
        Parallel.run(chunks, call);
        // dw = beta dw + the partials (dw not read when beta is 0)
        for (int i = 0; i < size; i += L) {
            VectorMask<Float> mask = S.indexInRange(i, size);
            FloatVector sum = FloatVector.fromArray(S, partials, i, mask);
            for (int c = 1; c < chunks; c++) {
                sum = sum.add(FloatVector.fromArray(S, partials, c * size + i, mask));
            }
            if (beta != 0f) {
                sum = sum.add(FloatVector.fromArray(S, dw, dwOffset + i, mask).mul(beta));
            }
            sum.intoArray(dw, dwOffset + i, mask);
        }
    }

    /** {@link #weightGradByChunks}' chunks of images, one per task, for the pool (see {@link Parallel.Call}). */
    private static final class ChunksCall extends Parallel.TaskCall {
        int batch, images, perProduct, gradOffset, gradImage, ldGrad, outC, xOffset, xImage, channels, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, size;
        float[] grad, x, partials;

        @Override
        public void accept(int i) {
            int end = Math.min(batch, (i + 1) * images);
            for (int b = i * images; b < end; b += perProduct) {
                Gemm.convWeightGrad(grad, gradOffset + b * gradImage, ldGrad, outC,
                        ImageColumns.of(x, xOffset + b * xImage, Math.min(perProduct, end - b), channels, height,
                                width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW),
                        b == i * images ? 0f : 1f, partials, i * size);
            }
        }

        @Override
        void clear() {
            grad = x = partials = null;
        }
    }

    private static final Parallel.Reused<ChunksCall> CHUNKS_CALLS = new Parallel.Reused<>(ChunksCall::new);

    /**
     * By classes of output positions when their products come to at most {@link TapConv#MAX_WORK} of
     * the full GEMM's: every class's rows are padded to whole MR panels, so a class of fewer rows than
     * MR (a batch below 8 at layer4) wastes what the skipped taps save. Plans are for small images:
     * at most {@link #TAP_PLAN_MAX} (position, tap) pairs.
     */
    @Override
    public boolean tapsPay(int batch, int height, int width, int kH, int kW, int padH, int padW, int strideH,
                           int strideW, int dilationH, int dilationW, int outH, int outW) {
        return tapPlan(batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW)
                != null;
    }

    /** The classes of this shape when they pay ({@link #tapsPay}), else null. */
    private static TapConv.Plan tapPlan(int batch, int height, int width, int kH, int kW, int padH, int padW,
                                        int strideH, int strideW, int dilationH, int dilationW, int outH, int outW) {
        if (batch <= 0 || outH <= 0 || outW <= 0 || kH > 31 || kW > 31 || (long) outH * outW * kH * kW > TAP_PLAN_MAX
                || !TapConv.mayPay(height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH,
                        outW)) {
            return null;
        }
        TapConv.Plan[] recent = PLANS.get();
        TapConv.Plan plan;
        int i = 0;
        while (i < recent.length && recent[i] != null && !recent[i].isFor(batch, height, width, kH, kW, padH, padW,
                strideH, strideW, dilationH, dilationW, outH, outW)) {
            i++;
        }
        if (i < recent.length && recent[i] != null) {
            plan = recent[i];
        } else {
            plan = new TapConv.Plan(batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                    outH, outW);
            i = recent.length - 1;
        }
        // most recent first
        System.arraycopy(recent, 0, recent, 1, i);
        recent[0] = plan;
        return plan.pays() ? plan : null;
    }

    /**
     * The plans a thread used last, most recent first. A training step asks for the same few shapes
     * again and again (ResNet-18's layer4: two, each asked by {@link #tapsPay}, the forward and both
     * gradients): a plan was built on every call before, 0.9 KB each (JMH {@code TapConvBenchmark}
     * {@code -prof gc}). Plans are immutable, so the pool's threads share them.
     */
    private static final ThreadLocal<TapConv.Plan[]> PLANS = ThreadLocal.withInitial(() -> new TapConv.Plan[4]);

    @Override
    public void conv2dTaps(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                           int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                           int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        TapConv.Plan plan = tapPlan(batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                outH, outW);
        if (plan == null || outC <= 0 || channels <= 0) {
            super.conv2dTaps(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, out, outOffset);
            return;
        }
        TapConv.forward(plan, w, wOffset, outC, x, xOffset, channels, height, width, out, outOffset);
    }

    @Override
    public boolean directPays(int channels, int kH, int kW, int strideH, int strideW, int dilationH, int dilationW,
                              int outW) {
        return DirectConv.pays(channels, kH, kW, strideH, strideW, dilationH, dilationW, outW);
    }

    @Override
    public void conv2dDirect(float[] w, int wOffset, int outC, float[] x, int xOffset, int batch, int channels,
                             int height, int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                             int dilationH, int dilationW, int outH, int outW, float[] out, int outOffset) {
        if (batch <= 0 || outC <= 0 || outH <= 0
                || !DirectConv.pays(channels, kH, kW, strideH, strideW, dilationH, dilationW, outW)) {
            super.conv2dDirect(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW,
                    strideH, strideW, dilationH, dilationW, outH, outW, out, outOffset);
            return;
        }
        DirectConv.forward(w, wOffset, outC, x, xOffset, batch, channels, height, width, kH, kW, padH, padW, strideH,
                strideW, outH, outW, out, outOffset);
    }

    @Override
    public void conv2dTapsInputGrad(float[] w, int wOffset, int outC, float[] grad, int gradOffset, int batch,
                                    int channels, int height, int width, int kH, int kW, int padH, int padW,
                                    int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                    float[] gx, int gxOffset) {
        TapConv.Plan plan = tapPlan(batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                outH, outW);
        if (plan == null || outC <= 0 || channels <= 0) {
            super.conv2dTapsInputGrad(w, wOffset, outC, grad, gradOffset, batch, channels, height, width, kH, kW,
                    padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, gx, gxOffset);
            return;
        }
        TapConv.inputGrad(plan, w, wOffset, outC, grad, gradOffset, channels, height, width, gx, gxOffset);
    }

    @Override
    public void conv2dTapsWeightGrad(float[] grad, int gradOffset, int outC, float[] x, int xOffset, int batch,
                                     int channels, int height, int width, int kH, int kW, int padH, int padW,
                                     int strideH, int strideW, int dilationH, int dilationW, int outH, int outW,
                                     float beta, float[] dw, int dwOffset) {
        TapConv.Plan plan = tapPlan(batch, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW,
                outH, outW);
        if (plan == null || outC <= 0 || channels <= 0) {
            if (!imageByImageWeightGrad(grad, gradOffset, outC, x, xOffset, batch, channels, height, width, kH, kW,
                    padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, beta, dw, dwOffset)) {
                super.conv2dTapsWeightGrad(grad, gradOffset, outC, x, xOffset, batch, channels, height, width, kH, kW,
                        padH, padW, strideH, strideW, dilationH, dilationW, outH, outW, beta, dw, dwOffset);
            }
            return;
        }
        TapConv.weightGrad(plan, grad, gradOffset, outC, x, xOffset, channels, height, width, beta, dw, dwOffset);
    }

    /**
     * {@link #conv2dWeightGrad}'s chunks of images for a gradient as the forward wrote it, [batch,
     * outC, outH, outW], when its depth split applies: image b's gradient is then an outC x P matrix
     * (rows P apart), so a chunk's images go one by one into its partial and the gradient is never
     * transposed. conv1 of ResNet-18 at batch 16, whose forward is {@link DirectConv}'s. False (and
     * nothing done) for other shapes.
     */
    private static boolean imageByImageWeightGrad(float[] grad, int gradOffset, int outC, float[] x, int xOffset,
                                                  int batch, int channels, int height, int width, int kH, int kW,
                                                  int padH, int padW, int strideH, int strideW, int dilationH,
                                                  int dilationW, int outH, int outW, float beta, float[] dw,
                                                  int dwOffset) {
        if (batch <= 0 || outC <= 0 || channels <= 0 || outH <= 0 || outW <= 0) {
            return false;
        }
        long k = (long) channels * kH * kW;
        long plane = (long) outH * outW;
        if (plane > Integer.MAX_VALUE || k > Integer.MAX_VALUE || (long) outC * plane > Integer.MAX_VALUE) {
            return false;
        }
        int images = deepChunkImages(outC, k, batch, (int) plane);
        if (images == 0 || !fromImages(true, outC, (int) k, (int) plane, k, plane, 1, channels, height, width, padH,
                padW)) {
            return false;
        }
        // image b's gradient is an outC x P matrix at b * outC * P: one product per image
        weightGradByChunks(grad, gradOffset, outC * (int) plane, (int) plane, 1, images, outC, x, xOffset, batch,
                channels, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW,
                beta, dw, dwOffset);
        return true;
    }

    /** The most (position, tap) pairs of a {@link TapConv.Plan}. */
    static final int TAP_PLAN_MAX = 1 << 16;

    /** The largest weight gradient (floats) that {@link #conv2dWeightGrad} cuts along its depth. */
    static final int DEEP_MAX_SIZE = 1 << 16;
    /**
     * Positions per chunk of {@link #conv2dWeightGrad}'s depth split; not final: tests lower it.
     * conv1 at batch 16 (one 32x32 image per chunk at 1024: 16 chunks for 2 threads), one JVM,
     * alternating, 2 threads: p25 2255 / 2182 us at 1024 against 2655 / 2231 at 2048 (medians 2357 /
     * 2450 against 2735 / 2718); 512 and 4096 no better.
     */
    static int deepChunk = Integer.getInteger("autograd.gemm.deepChunk", 1024);
    private static final ThreadLocal<float[]> DEEP_PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The weight gradient of a convolution with a small gradient (at most {@value #DEEP_MAX_SIZE}
     * floats) over a long depth (batch x positions): conv1 of ResNet-18 at batch 16, 64 x 147 from
     * 16,384 positions. The packed GEMM cuts C into strips, here five panels of 32 columns for two
     * threads (three and two), and one thread was as fast as two (3.9-4.2 against 4.2-4.5 ms,
     * alternating call by call in one JVM). Cut the depth instead: chunks of whole images of about
     * {@link #deepChunk} positions, each chunk's product into its own partial gradient, then
     * {@code dw = sum of the partials (in chunk order) + beta dw} (2.6-2.7 ms). The chunks follow from
     * the shape, not the thread count, so the result is the same on any number of threads.
     *
     * @return images per chunk, or 0 when the weight gradient is not cut (fewer than 4 chunks)
     */
    static int deepChunkImages(int outC, long k, int batch, int plane) {
        if ((long) outC * k > DEEP_MAX_SIZE) {
            return 0;
        }
        // at most 64 partials (16 MB): a batch of many small images takes bigger chunks
        int images = Math.max(Math.max(1, deepChunk / Math.max(1, plane)), ceilDiv(batch, 64));
        return ceilDiv(batch, images) >= 4 ? images : 0;
    }

    /** Whether a conv GEMM of this shape (m x gemmN x gemmK) packs, and its images and tables fit in arrays. */
    private static boolean fromImages(boolean transB, int m, int gemmN, int gemmK, long k, long n, int batch,
                                      int channels, int height, int width, int padH, int padW) {
        // k and n below the int limit by a panel: ImageColumns pads its tables to whole panels
        return k <= Integer.MAX_VALUE - Gemm.NR && n <= Integer.MAX_VALUE - Gemm.NR
                && Gemm.packs(transB, m, gemmN, gemmK)
                && ImageColumns.paddedSize(batch, channels, height, width, padH, padW) >= 0;
    }

    /** ceil(a / b) for b > 0 and any sign of a. */
    static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }

    @Override
    public void col2imInto(float[] col, int colOffset, int ldCol, int batch, int channels, int height, int width,
                           int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                           int outH, int outW, float[] x, int xOffset) {
        if (batch <= 0 || channels <= 0 || outH <= 0 || outW <= 0) {
            return;
        }
        ConvGeometry g = GEOMETRY.get().set(batch, height, width, kH, kW, padH, padW, strideH, strideW,
                dilationH, dilationW, outH, outW);
        // the gathered path copies each channel's planes into a padded buffer and back: worth it when
        // the taps' additions outnumber a plane's elements. ResNet-18's 1x1 stride-2 downsampling at
        // batch 16 (one JVM, alternating): 0.61 -> 0.12 ms (layer2), 0.44 -> 0.07 (layer3) by runs
        boolean gather = g.gathered() && outW <= SCATTER_MAX_WIDTH
                && (long) kH * kW * outH * outW >= (long) g.paddedHeight() * g.paddedWidth();
        int[] table = gather ? g.table(TABLE.get()) : null;
        // each channel scatters into its own planes of x: channels run in parallel without races,
        // and each element receives its additions in the same (row) order as the scalar reference.
        // A channel's work: its additions and its planes of x (counting the additions only, those
        // downsamplings ran on one thread)
        long perChannel = g.perChannel() + (long) batch * height * width;
        if ((long) channels * perChannel < PARALLEL_GRAIN || Parallel.parallelism() <= 1) {
            col2imChannels(0, channels, col, colOffset, ldCol, channels, g, table, x, xOffset);
        } else {
            Col2imCall call = COL2IM_CALLS.get();
            call.col = col;
            call.x = x;
            call.colOffset = colOffset;
            call.ldCol = ldCol;
            call.channels = channels;
            call.xOffset = xOffset;
            call.g = g;
            call.table = table;
            Parallel.forRange(channels, (int) Math.max(1, PARALLEL_GRAIN / perChannel), 1, call);
        }
    }

    /** {@link #col2imInto}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class Col2imCall extends Parallel.RangeCall {
        float[] col, x;
        int colOffset, ldCol, channels, xOffset;
        ConvGeometry g;
        int[] table;

        @Override
        public void run(int c0, int c1) {
            col2imChannels(c0, c1, col, colOffset, ldCol, channels, g, table, x, xOffset);
        }

        @Override
        void clear() {
            col = x = null;
            g = null;
            table = null;
        }
    }

    private static final Parallel.Reused<Col2imCall> COL2IM_CALLS = new Parallel.Reused<>(Col2imCall::new);

    /** {@link #col2imTransposedInto}'s tables, per thread. */
    private static final ThreadLocal<int[]> COL2IM_FROM = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<int[]> COL2IM_PAIRS = ThreadLocal.withInitial(() -> new int[0]);

    /**
     * For each element of an image, the (position, tap) pairs that reach it, in tap order: then for
     * each pair a pass over the channels (x's planes and colT's columns both strided, no branches),
     * ranges of (image, channel) planes in parallel. Each element gets x + its additions in the
     * column matrix's row order, as the reference. Before, the engine transposed the K x N gradient
     * and scattered it back with {@link #col2imInto}: 0.28-0.36 + 0.30-0.49 ms for ResNet-18's layer4
     * at batch 16 (4608 x 64), this 0.19-0.20 (one JVM, call by call); a loop over taps and positions
     * per plane took 0.39-0.54. Meant for few columns: at 8 x 64 x 56 x 56 it is a quarter of
     * {@link #col2imInto}'s speed (JMH ConvBenchmark).
     */
    @Override
    public void col2imTransposedInto(float[] colT, int colTOffset, int ldColT, int batch, int channels, int height,
                                     int width, int kH, int kW, int padH, int padW, int strideH, int strideW,
                                     int dilationH, int dilationW, int outH, int outW, float[] x, int xOffset) {
        if (batch <= 0 || channels <= 0 || outH <= 0 || outW <= 0) {
            return;
        }
        int image = height * width;
        int taps = kH * kW;
        // pairs[from[e] ..< from[e + 1]]: position * taps + tap, for element e, taps ascending
        int[] from = Scratch.ints(COL2IM_FROM, image + 1);
        int[] pairs = Scratch.ints(COL2IM_PAIRS, Math.multiplyExact(outH * outW, taps));
        int count = 0;
        for (int h = 0; h < height; h++) {
            for (int w = 0; w < width; w++) {
                from[h * width + w] = count;
                for (int ki = 0; ki < kH; ki++) {
                    int oh = h + padH - ki * dilationH;
                    if (oh < 0 || oh % strideH != 0 || oh / strideH >= outH) {
                        continue;
                    }
                    for (int kj = 0; kj < kW; kj++) {
                        int ow = w + padW - kj * dilationW;
                        if (ow >= 0 && ow % strideW == 0 && ow / strideW < outW) {
                            pairs[count++] = ((oh / strideH) * outW + ow / strideW) * taps + ki * kW + kj;
                        }
                    }
                }
            }
        }
        from[image] = count;
        int planes = batch * channels;
        long perPlane = (long) count;
        Col2imTransposedCall call = COL2IM_TRANSPOSED_CALLS.get();
        call.colT = colT;
        call.x = x;
        call.colTOffset = colTOffset;
        call.ldColT = ldColT;
        call.channels = channels;
        call.image = image;
        call.outH = outH;
        call.outW = outW;
        call.taps = taps;
        call.xOffset = xOffset;
        call.from = from;
        call.pairs = pairs;
        int grain = planes * perPlane < PARALLEL_GRAIN ? planes
                : (int) Math.max(1, PARALLEL_GRAIN / Math.max(1, perPlane));
        Parallel.forRange(planes, grain, 1, call);
    }

    /** {@link #col2imTransposedInto}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class Col2imTransposedCall extends Parallel.RangeCall {
        float[] colT, x;
        int colTOffset, ldColT, channels, image, outH, outW, taps, xOffset;
        int[] from, pairs;

        @Override
        public void run(int q0, int q1) {
            for (int q = q0; q < q1; ) {
                int b = q / channels;
                int c0 = q % channels;
                int c1 = Math.min(channels, c0 + q1 - q);
                int xBase = xOffset + (b * channels) * image;
                int rowBase = colTOffset + b * outH * outW * ldColT;
                for (int e = 0; e < image; e++) {
                    for (int i = from[e]; i < from[e + 1]; i++) {
                        int pair = pairs[i];
                        int src = rowBase + (pair / taps) * ldColT + pair % taps;
                        for (int c = c0; c < c1; c++) {
                            x[xBase + c * image + e] += colT[src + c * taps];
                        }
                    }
                }
                q += c1 - c0;
            }
        }

        @Override
        void clear() {
            colT = x = null;
            from = pairs = null;
        }
    }

    private static final Parallel.Reused<Col2imTransposedCall> COL2IM_TRANSPOSED_CALLS =
            new Parallel.Reused<>(Col2imTransposedCall::new);

    private static void col2imChannels(int c0, int c1, float[] col, int colOffset, int ldCol, int channels,
                                       ConvGeometry g, int[] table, float[] x, int xOffset) {
        if (table != null) {
            col2imGathered(c0, c1, col, colOffset, ldCol, channels, g, table, x, xOffset);
        } else {
            col2imRuns(c0, c1, col, colOffset, ldCol, channels, g, x, xOffset);
        }
    }

    /**
     * Small images: one channel of a chunk of images is copied into the padded buffer, each row of col
     * is added element by element through the table (within a row no two columns meet the same element),
     * and the interior is copied back: each element gets x + its additions in row order, as in
     * the reference.
     */
    private static void col2imGathered(int c0, int c1, float[] col, int colOffset, int ldCol, int channels,
                                       ConvGeometry g, int[] table, float[] x, int xOffset) {
        int image = channels * g.height() * g.width();
        float[] xp = g.scratch();
        for (int c = c0; c < c1; c++) {
            for (int b0 = 0; b0 < g.batch(); b0 += g.chunk()) {
                int count = Math.min(g.chunk(), g.batch() - b0);
                int n = count * g.plane();
                int channelOffset = xOffset + b0 * image + c * g.height() * g.width();
                g.pad(x, channelOffset, image, count, xp);
                for (int ki = 0; ki < g.kH(); ki++) {
                    for (int kj = 0; kj < g.kW(); kj++) {
                        int src = colOffset + ((c * g.kH() + ki) * g.kW() + kj) * ldCol + b0 * g.plane();
                        int off = g.tapOffset(ki, kj);
                        // element by element: the Zen 4's AVX-512 scatters were slower than stores
                        // (see Winograd.scatterStaged), and AVX2 has none
                        for (int j = 0; j < n; j++) {
                            xp[off + table[j]] += col[src + j];
                        }
                    }
                }
                g.unpad(xp, x, channelOffset, image, count);
            }
        }
    }

    private static void col2imRuns(int c0, int c1, float[] col, int colOffset, int ldCol, int channels,
                                   ConvGeometry g, float[] x, int xOffset) {
        int height = g.height();
        int width = g.width();
        int outW = g.outW();
        int strideW = g.strideW();
        int image = channels * height * width;
        for (int c = c0; c < c1; c++) {
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++) {
                    int row = (c * g.kH() + ki) * g.kW() + kj;
                    int dw = kj * g.dilationW() - g.padW();
                    int owLo = g.firstInside(kj);
                    int owHi = g.endInside(kj);
                    for (int b = 0; b < g.batch(); b++) {
                        int base = colOffset + row * ldCol + b * g.plane();
                        for (int oh = 0; oh < g.outH(); oh++) {
                            int h = oh * g.strideH() - g.padH() + ki * g.dilationH();
                            if (h < 0 || h >= height) {
                                continue;
                            }
                            int dst = xOffset + b * image + (c * height + h) * width + dw;
                            int src = base + oh * outW;
                            if (strideW == 1) {
                                // a contiguous run: x[dst+ow] += col[src+ow], vectorised
                                addInto(col, src + owLo, x, dst + owLo, owHi - owLo);
                            } else {
                                for (int ow = owLo; ow < owHi; ow++) {
                                    x[dst + ow * strideW] += col[src + ow];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code y[i] += x[i]}. */
    static void addInto(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += x[xo + i];
        }
    }

    /** The long species with as many bits (max-pool indices: one int vector fills two of these). */
    static final VectorSpecies<Long> SL = VectorSpecies.of(long.class, S.vectorShape());

    /**
     * Two-table permutation for stride-2 loads: with {@code a} loaded at column c and {@code b} at
     * c+L-1, lane j of {@code EVERY_OTHER.from(a, b)} is column c+2j (indices below L pick from
     * a, the rest from b). Loading b one early means the two loads read exactly columns c..c+2L-2,
     * the ones the lanes need, never one past them.
     */
    private static final Pick EVERY_OTHER = Pick.of(FloatVector.fromArray(S, everyOther(), 0));

    private static float[] everyOther() {
        float[] index = new float[L];
        for (int j = 0; j < L; j++) {
            index[j] = j < L / 2 ? 2 * j : 2 * j + 1;
        }
        return index;
    }

    @Override
    public void maxPool2d(float[] x, int xOffset, int planes, int height, int width,
                          int kH, int kW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                          int outH, int outW, float[] out, int outOffset, long[] indices, int indicesOffset) {
        // planes run in parallel; within a plane, L output columns of one output row at a time
        // (stride 1: plain loads; stride 2: two loads and one two-table permute per tap). Other
        // strides, and rows narrower than a vector (small-size guard), keep the reference's loop.
        int plane = height * width;
        int outPlane = outH * outW;
        boolean simd = (strideW == 1 || strideW == 2) && outW >= L;
        int grain = Math.max(1, PARALLEL_GRAIN / Math.max(1, outPlane * kH * kW));
        MaxPoolCall call = MAX_POOL_CALLS.get();
        call.simd = simd;
        call.x = x;
        call.out = out;
        call.indices = indices;
        call.xOffset = xOffset;
        call.plane = plane;
        call.height = height;
        call.width = width;
        call.kH = kH;
        call.kW = kW;
        call.padH = padH;
        call.padW = padW;
        call.strideH = strideH;
        call.strideW = strideW;
        call.dilationH = dilationH;
        call.dilationW = dilationW;
        call.outH = outH;
        call.outW = outW;
        call.outPlane = outPlane;
        call.outOffset = outOffset;
        call.indicesOffset = indicesOffset;
        Parallel.forRange(planes, grain, 1, call);
    }

    /** {@link #maxPool2d}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class MaxPoolCall extends Parallel.RangeCall {
        boolean simd;
        float[] x, out;
        long[] indices;
        int xOffset, plane, height, width, kH, kW, padH, padW, strideH, strideW, dilationH, dilationW, outH, outW;
        int outPlane, outOffset, indicesOffset;

        @Override
        public void run(int p0, int p1) {
            if (!simd) {
                SCALAR.maxPool2d(x, xOffset + p0 * plane, p1 - p0, height, width, kH, kW, padH, padW,
                        strideH, strideW, dilationH, dilationW, outH, outW,
                        out, outOffset + p0 * outPlane, indices, indicesOffset + p0 * outPlane);
                return;
            }
            for (int p = p0; p < p1; p++) {
                maxPoolPlane(x, xOffset + p * plane, height, width, kH, kW, padH, padW, strideH, strideW,
                        dilationH, dilationW, outH, outW, out, outOffset + p * outPlane, indices,
                        indicesOffset + p * outPlane);
            }
        }

        @Override
        void clear() {
            x = out = null;
            indices = null;
        }
    }

    private static final Parallel.Reused<MaxPoolCall> MAX_POOL_CALLS = new Parallel.Reused<>(MaxPoolCall::new);

    /**
     * Planes in parallel (each plane's gradient is its own), the reference's loop within a plane:
     * the same additions in the same order. On the calling thread alone, with the pool's other
     * thread idle, the pooling after conv1 at batch 16 (1,024 planes of 16 x 16 into 32 x 32) took
     * 0.44-0.46 ms; in ranges of planes 0.19-0.21 (one JVM, two threads).
     */
    @Override
    public void maxPool2dBackward(float[] grad, int gradOffset, long[] indices, int indicesOffset, int planes,
                                  int height, int width, int outH, int outW, float[] gradInput, int gradInputOffset) {
        int plane = height * width;
        int outPlane = outH * outW;
        MaxPoolBackwardCall call = MAX_POOL_BACKWARD_CALLS.get();
        call.grad = grad;
        call.gradInput = gradInput;
        call.indices = indices;
        call.gradOffset = gradOffset;
        call.indicesOffset = indicesOffset;
        call.plane = plane;
        call.outPlane = outPlane;
        call.gradInputOffset = gradInputOffset;
        Parallel.forRange(planes, Math.max(1, PARALLEL_GRAIN / Math.max(1, outPlane)), 1, call);
    }

    /** {@link #maxPool2dBackward}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class MaxPoolBackwardCall extends Parallel.RangeCall {
        float[] grad, gradInput;
        long[] indices;
        int gradOffset, indicesOffset, plane, outPlane, gradInputOffset;

        @Override
        public void run(int p0, int p1) {
            maxPoolBackwardPlanes(p0, p1, grad, gradOffset, indices, indicesOffset, plane, outPlane, gradInput,
                    gradInputOffset);
        }

        @Override
        void clear() {
            grad = gradInput = null;
            indices = null;
        }
    }

    private static final Parallel.Reused<MaxPoolBackwardCall> MAX_POOL_BACKWARD_CALLS =
            new Parallel.Reused<>(MaxPoolBackwardCall::new);

    /**
     * One plane, {@code strideW} 1 or 2, {@code outW >= L}. Per output row, blocks of L output
     * columns; the last block is moved left to end at the row's end (it recomputes a few columns
     * with identical results instead of needing a tail). Per block, the taps in the reference's scan
     * order (kernel row, then kernel column) with a strict {@code >}: the first maximum wins, as in
     * the reference and PyTorch. The winner is tracked as {@code h*width + tapColumn} per lane (one
     * broadcast blend per tap) and turned into the plane index once per block.
     *
     * <p>A tap is taken as PyTorch takes it, {@code val > max || isnan(val)}: the last NaN of a
     * window wins, in vectors (a diverged training run is NaN throughout; sending NaN lanes to the
     * scalar loop made max pooling 20 times slower there: 11 against 0.5 ms at batch 16 with a
     * quarter of NaN; and its first NaN sent the compiled method back to the interpreter).
     * Blocks touching the padding load across the row's edge (into the neighbouring row, never
     * outside {@code x}: such blocks go scalar) and blend the outside taps to -inf, which never wins.
     * One rare case is left to the scalar loop, lane by lane: a result of -inf (the reference takes
     * the first valid tap even when it is -inf, or -1 for a window of padding only), found with
     * one compare per block.
     */
    private static void maxPoolPlane(float[] x, int xBase, int height, int width, int kH, int kW,
                                     int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                                     int outH, int outW, float[] out, int outBase, long[] indices, int indicesBase) {
        IntVector laneColumns = IntVector.zero(SI).addIndex(strideW); // j * strideW
        int span = (L - 1) * strideW + (kW - 1) * dilationW; // first to last column one block reads in a row
        for (int oh = 0; oh < outH; oh++) {
            int hTop = oh * strideH - padH;
            int kiLo = 0;
            while (kiLo < kH && hTop + kiLo * dilationH < 0) {
                kiLo++;
            }
            int kiHi = kH - 1;
            while (kiHi >= kiLo && hTop + kiHi * dilationH >= height) {
                kiHi--;
            }
            int o = outBase + oh * outW;
            int io = indicesBase + oh * outW;
            for (int block = 0; block < outW; block += L) {
                int ow = Math.min(block, outW - L);
                int c0 = ow * strideW - padW; // column of lane 0's first tap
                boolean border = c0 < 0 || c0 + span >= width;
                if (kiLo > kiHi || (border && (xBase + (hTop + kiLo * dilationH) * width + c0 < 0
                        || xBase + (hTop + kiHi * dilationH) * width + c0 + span >= x.length))) {
                    for (int j = 0; j < L; j++) {
                        maxPoolAt(x, xBase, height, width, kH, kW, padH, padW, strideH, strideW, dilationH,
                                dilationW, oh, ow + j, out, o + ow + j, indices, io + ow + j);
                    }
                    continue;
                }
                FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                IntVector arg = IntVector.zero(SI);
                for (int ki = kiLo; ki <= kiHi; ki++) {
                    int h = hTop + ki * dilationH;
                    int row = xBase + h * width;
                    for (int kj = 0; kj < kW; kj++) {
                        int c = c0 + kj * dilationW;
                        FloatVector v = strideW == 1
                                ? FloatVector.fromArray(S, x, row + c)
                                : EVERY_OTHER.from(FloatVector.fromArray(S, x, row + c),
                                        FloatVector.fromArray(S, x, row + c + L - 1));
                        if (border) {
                            VectorMask<Integer> outside = laneColumns.add(c).compare(VectorOperators.UGE, width);
                            v = v.blend(Float.NEGATIVE_INFINITY, outside.cast(S));
                        }
                        // PyTorch's rule, val > max || isnan(val): a NaN always wins, so the last one stays
                        VectorMask<Float> take = v.compare(VectorOperators.GT, m).or(v.compare(VectorOperators.NE, v));
                        m = m.blend(v, take);
                        arg = arg.blend(h * width + c, take.cast(SI));
                    }
                }
                m.intoArray(out, o + ow);
                IntVector index = arg.add(laneColumns);
                ((LongVector) index.convertShape(VectorOperators.I2L, SL, 0)).intoArray(indices, io + ow);
                ((LongVector) index.convertShape(VectorOperators.I2L, SL, 1)).intoArray(indices, io + ow + L / 2);
                VectorMask<Float> redo = m.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY);
                if (redo.anyTrue()) {
                    for (int j = 0; j < L; j++) {
                        if (redo.laneIsSet(j)) {
                            maxPoolAt(x, xBase, height, width, kH, kW, padH, padW, strideH, strideW, dilationH,
                                    dilationW, oh, ow + j, out, o + ow + j, indices, io + ow + j);
                        }
                    }
                }
            }
        }
    }

    @Override
    public void adaptiveAvgPool2d(float[] x, int xOffset, int planes, int height, int width,
                                  int outH, int outW, float[] out, int outOffset) {
        if (outH == 1 && outW == 1) {
            // global average pooling (ResNet's head): one vector sum per plane
            int plane = height * width;
            for (int p = 0; p < planes; p++) {
                out[outOffset + p] = (float) (sumBlockAny(x, xOffset + p * plane, plane) / plane);
            }
            return;
        }
        super.adaptiveAvgPool2d(x, xOffset, planes, height, width, outH, outW, out, outOffset);
    }

    private static double sumBlockAny(float[] x, int xo, int n) {
        return blockedSum(x, xo, n, false);
    }

    // ================================================================ batch norm, fused per channel

    /**
     * Planes (H*W) smaller than this take the row-wise batch norm passes ({@link BatchNormRows}):
     * a plane of 16 or 4 floats per (image, channel) made the per-plane vector loops all overhead.
     * Batch 16, paired with ReLU over the same floats: [16, 256, 4, 4] forward 0.36-0.69 ms and
     * [16, 512, 2, 2] 0.43-0.80 ms, where ReLU took 0.005-0.012 ms.
     */
    static final int BN_ROW_PLANE = 256;

    @Override
    public void batchNormTrain(float[] x, int xOffset, int batch, int channels, int spatial,
                               float[] weight, float[] bias, float eps,
                               float[] out, int outOffset, float[] saveMean, float[] saveInvStd, float[] unbiasedVar) {
        // channels are independent: split them over the pool; per channel, two passes (mean, then
        // centred squares: the one-pass E[x^2]-E[x]^2 loses digits) and one fused scale-shift pass
        int grain = Math.max(1, PARALLEL_GRAIN / Math.max(1, batch * spatial));
        BatchNormCall call = BATCH_NORM_CALLS.get();
        call.pass = BatchNormCall.Pass.TRAIN;
        call.sizes(x, xOffset, batch, channels, spatial, weight, eps);
        call.bias = bias;
        call.out = out;
        call.outOffset = outOffset;
        call.saveMean = saveMean;
        call.saveInvStd = saveInvStd;
        call.unbiasedVar = unbiasedVar;
        Parallel.forRange(channels, grain, 1, call);
    }

    private static void batchNormTrain(BatchNormCall call, int c0, int c1) {
        float[] x = call.x, weight = call.weight, bias = call.bias, out = call.out;
        float[] saveMean = call.saveMean, saveInvStd = call.saveInvStd, unbiasedVar = call.unbiasedVar;
        int xOffset = call.xOffset, batch = call.batch, channels = call.channels, spatial = call.spatial;
        int outOffset = call.outOffset;
        float eps = call.eps;
        if (spatial < BN_ROW_PLANE) {
            BatchNormRows.train(x, xOffset, batch, channels, spatial, c0, c1, weight, bias, eps, out, outOffset,
                    saveMean, saveInvStd, unbiasedVar);
            return;
        }
        long count = (long) batch * spatial;
        for (int c = c0; c < c1; c++) {
            double s = 0;
            for (int b = 0; b < batch; b++) {
                s += sumBlockAny(x, xOffset + (b * channels + c) * spatial, spatial);
            }
            double mean = s / count;
            double ss = 0;
            for (int b = 0; b < batch; b++) {
                ss += centredSquares(x, xOffset + (b * channels + c) * spatial, spatial, (float) mean);
            }
            double var = ss / count;
            float invStd = (float) (1.0 / Math.sqrt(var + eps));
            saveMean[c] = (float) mean;
            saveInvStd[c] = invStd;
            if (unbiasedVar != null) {
                unbiasedVar[c] = count > 1 ? (float) (ss / (count - 1)) : Float.NaN;
            }
            float w = weight == null ? 1f : weight[c];
            float bi = bias == null ? 0f : bias[c];
            float scale = invStd * w;
            float shift = bi - (float) mean * scale;
            for (int b = 0; b < batch; b++) {
                scaleShift(x, xOffset + (b * channels + c) * spatial, scale, shift,
                        out, outOffset + (b * channels + c) * spatial, spatial);
            }
        }
    }

    /** Sum of (x - mean)^2, four accumulators. */
    private static double centredSquares(float[] x, int xo, int n, float mean) {
        int i = 0;
        double total = 0;
        FloatVector mv = FloatVector.broadcast(S, mean);
        if (n >= 4 * L) {
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = FloatVector.zero(S);
            FloatVector s2 = FloatVector.zero(S);
            FloatVector s3 = FloatVector.zero(S);
            int bound = n - n % (4 * L);
            for (; i < bound; i += 4 * L) {
                FloatVector d0 = FloatVector.fromArray(S, x, xo + i).sub(mv);
                FloatVector d1 = FloatVector.fromArray(S, x, xo + i + L).sub(mv);
                FloatVector d2 = FloatVector.fromArray(S, x, xo + i + 2 * L).sub(mv);
                FloatVector d3 = FloatVector.fromArray(S, x, xo + i + 3 * L).sub(mv);
                s0 = d0.fma(d0, s0);
                s1 = d1.fma(d1, s1);
                s2 = d2.fma(d2, s2);
                s3 = d3.fma(d3, s3);
            }
            total = addLanes(s0.add(s1).add(s2.add(s3)));
        }
        for (; i < n; i++) {
            double d = x[xo + i] - mean;
            total += d * d;
        }
        return total;
    }

    /** {@code out = x * scale + shift} (FMA: one rounding; the reference rounds twice, within 1 ulp). */
    private static void scaleShift(float[] x, int xo, float scale, float shift, float[] out, int oo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector sc = FloatVector.broadcast(S, scale);
        FloatVector sh = FloatVector.broadcast(S, shift);
        for (; i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).fma(sc, sh).intoArray(out, oo + i);
        }
        for (; i < n; i++) {
            out[oo + i] = x[xo + i] * scale + shift;
        }
    }

    @Override
    public void batchNormEval(float[] x, int xOffset, int batch, int channels, int spatial,
                              float[] weight, float[] bias, float[] runningMean, float[] runningVar, float eps,
                              float[] out, int outOffset) {
        int grain = Math.max(1, PARALLEL_GRAIN / Math.max(1, batch * spatial));
        BatchNormCall call = BATCH_NORM_CALLS.get();
        call.pass = BatchNormCall.Pass.EVAL;
        call.sizes(x, xOffset, batch, channels, spatial, weight, eps);
        call.bias = bias;
        call.runningMean = runningMean;
        call.runningVar = runningVar;
        call.out = out;
        call.outOffset = outOffset;
        Parallel.forRange(channels, grain, 1, call);
    }

    private static void batchNormEval(BatchNormCall call, int c0, int c1) {
        float[] x = call.x, weight = call.weight, bias = call.bias, out = call.out;
        float[] runningMean = call.runningMean, runningVar = call.runningVar;
        int xOffset = call.xOffset, batch = call.batch, channels = call.channels, spatial = call.spatial;
        int outOffset = call.outOffset;
        float eps = call.eps;
        if (spatial < BN_ROW_PLANE) {
            BatchNormRows.eval(x, xOffset, batch, channels, spatial, c0, c1, weight, bias, runningMean, runningVar,
                    eps, out, outOffset);
            return;
        }
        for (int c = c0; c < c1; c++) {
            float invStd = (float) (1.0 / Math.sqrt(runningVar[c] + eps));
            float w = weight == null ? 1f : weight[c];
            float bi = bias == null ? 0f : bias[c];
            float scale = invStd * w;
            float shift = bi - runningMean[c] * scale;
            for (int b = 0; b < batch; b++) {
                scaleShift(x, xOffset + (b * channels + c) * spatial, scale, shift,
                        out, outOffset + (b * channels + c) * spatial, spatial);
            }
        }
    }

    @Override
    public void batchNormTrainBackward(float[] grad, int gradOffset, float[] x, int xOffset,
                                       int batch, int channels, int spatial, float[] weight,
                                       float[] saveMean, float[] saveInvStd,
                                       float[] gradInput, int gradInputOffset, boolean accumulate,
                                       float[] gradWeight, float[] gradBias) {
        int grain = Math.max(1, PARALLEL_GRAIN / Math.max(1, batch * spatial));
        BatchNormCall call = BATCH_NORM_CALLS.get();
        call.pass = BatchNormCall.Pass.BACKWARD;
        call.sizes(x, xOffset, batch, channels, spatial, weight, 0f);
        call.grad = grad;
        call.gradOffset = gradOffset;
        call.saveMean = saveMean;
        call.saveInvStd = saveInvStd;
        call.gradInput = gradInput;
        call.gradInputOffset = gradInputOffset;
        call.accumulate = accumulate;
        call.gradWeight = gradWeight;
        call.gradBias = gradBias;
        Parallel.forRange(channels, grain, 1, call);
    }

    private static void batchNormBackward(BatchNormCall call, int c0, int c1) {
        float[] grad = call.grad, x = call.x, weight = call.weight, saveMean = call.saveMean;
        float[] saveInvStd = call.saveInvStd, gradInput = call.gradInput, gradWeight = call.gradWeight;
        float[] gradBias = call.gradBias;
        int gradOffset = call.gradOffset, xOffset = call.xOffset, batch = call.batch, channels = call.channels;
        int spatial = call.spatial, gradInputOffset = call.gradInputOffset;
        boolean accumulate = call.accumulate;
        if (spatial < BN_ROW_PLANE) {
            BatchNormRows.backward(grad, gradOffset, x, xOffset, batch, channels, spatial, c0, c1, weight, saveMean,
                    saveInvStd, gradInput, gradInputOffset, accumulate, gradWeight, gradBias);
            return;
        }
        long count = (long) batch * spatial;
        double[] sums = GRAD_SUMS.get();
        for (int c = c0; c < c1; c++) {
            float mean = saveMean[c];
            float invStd = saveInvStd[c];
            double sumG = 0;
            double sumGX = 0;
            for (int b = 0; b < batch; b++) {
                int off = (b * channels + c) * spatial;
                gradSums(grad, gradOffset + off, x, xOffset + off, spatial, mean, sums);
                sumG += sums[0];
                sumGX += sums[1];
            }
            if (gradBias != null) {
                gradBias[c] += (float) sumG;
            }
            if (gradWeight != null) {
                gradWeight[c] += (float) (sumGX * invStd);
            }
            if (gradInput != null) {
                float w = weight == null ? 1f : weight[c];
                float meanG = (float) (sumG / count);
                float kk = (float) (sumGX / count) * invStd * invStd;
                float scale = w * invStd;
                for (int b = 0; b < batch; b++) {
                    int off = (b * channels + c) * spatial;
                    bnGradInput(grad, gradOffset + off, x, xOffset + off, mean, meanG, kk, scale,
                            gradInput, gradInputOffset + off, accumulate, spatial);
                }
            }
        }
    }

    /**
     * The arguments of the three batch norm kernels for the pool (see {@link Parallel.Call}), with
     * the pass to run over each range of channels.
     */
    private static final class BatchNormCall extends Parallel.RangeCall {
        enum Pass { TRAIN, EVAL, BACKWARD }

        Pass pass;
        float[] x, weight, bias, out, saveMean, saveInvStd, unbiasedVar, runningMean, runningVar;
        float[] grad, gradInput, gradWeight, gradBias;
        int xOffset, batch, channels, spatial, outOffset, gradOffset, gradInputOffset;
        float eps;
        boolean accumulate;

        void sizes(float[] x, int xOffset, int batch, int channels, int spatial, float[] weight, float eps) {
            this.x = x;
            this.xOffset = xOffset;
            this.batch = batch;
            this.channels = channels;
            this.spatial = spatial;
            this.weight = weight;
            this.eps = eps;
        }

        @Override
        public void run(int c0, int c1) {
            switch (pass) {
                case TRAIN -> batchNormTrain(this, c0, c1);
                case EVAL -> batchNormEval(this, c0, c1);
                case BACKWARD -> batchNormBackward(this, c0, c1);
            }
        }

        @Override
        void clear() {
            x = weight = bias = out = saveMean = saveInvStd = unbiasedVar = runningMean = runningVar = null;
            grad = gradInput = gradWeight = gradBias = null;
        }
    }

    private static final Parallel.Reused<BatchNormCall> BATCH_NORM_CALLS = new Parallel.Reused<>(BatchNormCall::new);

    /** {@link #gradSums}' two results, per thread. */
    private static final ThreadLocal<double[]> GRAD_SUMS = ThreadLocal.withInitial(() -> new double[2]);

    /** sums[0] = sum(g), sums[1] = sum(g * (x - mean)), two accumulators each. */
    private static void gradSums(float[] g, int go, float[] x, int xo, int n, float mean, double[] sums) {
        int i = 0;
        double sg = 0;
        double sgx = 0;
        if (n >= 2 * L) {
            FloatVector mv = FloatVector.broadcast(S, mean);
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S);
            FloatVector b1 = FloatVector.zero(S);
            int bound = n - n % (2 * L);
            for (; i < bound; i += 2 * L) {
                FloatVector g0 = FloatVector.fromArray(S, g, go + i);
                FloatVector g1 = FloatVector.fromArray(S, g, go + i + L);
                a0 = a0.add(g0);
                a1 = a1.add(g1);
                b0 = g0.fma(FloatVector.fromArray(S, x, xo + i).sub(mv), b0);
                b1 = g1.fma(FloatVector.fromArray(S, x, xo + i + L).sub(mv), b1);
            }
            sg = addLanes(a0.add(a1));
            sgx = addLanes(b0.add(b1));
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            sg += gi;
            sgx += gi * (x[xo + i] - mean);
        }
        sums[0] = sg;
        sums[1] = sgx;
    }

    private static void bnGradInput(float[] g, int go, float[] x, int xo, float mean, float meanG, float kk,
                                    float scale, float[] gi, int gio, boolean accumulate, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        FloatVector mv = FloatVector.broadcast(S, mean);
        for (; i < bound; i += L) {
            FloatVector xc = FloatVector.fromArray(S, x, xo + i).sub(mv);
            FloatVector d = FloatVector.fromArray(S, g, go + i).sub(meanG).sub(xc.mul(kk)).mul(scale);
            (accumulate ? FloatVector.fromArray(S, gi, gio + i).add(d) : d).intoArray(gi, gio + i);
        }
        for (; i < n; i++) {
            float xc = x[xo + i] - mean;
            float d = scale * (g[go + i] - meanG - xc * kk);
            gi[gio + i] = accumulate ? gi[gio + i] + d : d;
        }
    }

    // ================================================================ optimizers

    @Override
    public void sgdStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] buf, int bufOffset, int n,
                        float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean first) {
        if (n < PARALLEL_GRAIN) {
            sgdRange(w, wOffset, grad, gradOffset, buf, bufOffset, n, lr, momentum, dampening, weightDecay,
                    nesterov, first);
            return;
        }
        SgdCall call = SGD_CALLS.get();
        call.w = w;
        call.wo = wOffset;
        call.grad = grad;
        call.go = gradOffset;
        call.buf = buf;
        call.bo = bufOffset;
        call.lr = lr;
        call.momentum = momentum;
        call.dampening = dampening;
        call.weightDecay = weightDecay;
        call.nesterov = nesterov;
        call.first = first;
        Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
    }

    /** {@link #sgdStep}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class SgdCall extends Parallel.RangeCall {
        float[] w, grad, buf;
        int wo, go, bo;
        float lr, momentum, dampening, weightDecay;
        boolean nesterov, first;

        @Override
        public void run(int from, int to) {
            sgdRange(w, wo + from, grad, go + from, buf, bo + from, to - from, lr, momentum, dampening, weightDecay,
                    nesterov, first);
        }

        @Override
        void clear() {
            w = grad = buf = null;
        }
    }

    private static final Parallel.Reused<SgdCall> SGD_CALLS = new Parallel.Reused<>(SgdCall::new);

    private static void sgdRange(float[] w, int wo, float[] grad, int go, float[] buf, int bo, int n,
                                 float lr, float momentum, float dampening, float weightDecay,
                                 boolean nesterov, boolean first) {
        int i = 0;
        int bound = S.loopBound(n);
        boolean useMomentum = momentum != 0f;
        float keep = 1f - dampening;
        // one pass over w, g and buf: each element is read once and written once
        for (; i < bound; i += L) {
            FloatVector wv = FloatVector.fromArray(S, w, wo + i);
            FloatVector g = FloatVector.fromArray(S, grad, go + i);
            if (weightDecay != 0f) {
                g = g.add(wv.mul(weightDecay));
            }
            if (useMomentum) {
                FloatVector bv = first ? g : FloatVector.fromArray(S, buf, bo + i).mul(momentum).add(g.mul(keep));
                bv.intoArray(buf, bo + i);
                g = nesterov ? g.add(bv.mul(momentum)) : bv;
            }
            wv.sub(g.mul(lr)).intoArray(w, wo + i);
        }
        if (i < n) {
            super_sgd(w, wo + i, grad, go + i, buf, bo + i, n - i, lr, momentum, dampening, weightDecay, nesterov, first);
        }
    }

    private static final ScalarKernels SCALAR = new ScalarKernels();

    private static void super_sgd(float[] w, int wo, float[] grad, int go, float[] buf, int bo, int n, float lr,
                                  float momentum, float dampening, float weightDecay, boolean nesterov, boolean first) {
        SCALAR.sgdStep(w, wo, grad, go, buf, bo, n, lr, momentum, dampening, weightDecay, nesterov, first);
    }

    @Override
    public void adamStep(float[] w, int wOffset, float[] grad, int gradOffset, float[] m, float[] v, int stateOffset,
                         int n, float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                         float bc1, float bc2) {
        if (n < PARALLEL_GRAIN) {
            adamRange(w, wOffset, grad, gradOffset, m, v, stateOffset, n, lr, beta1, beta2, eps, weightDecay,
                    decoupled, bc1, bc2);
            return;
        }
        AdamCall call = ADAM_CALLS.get();
        call.w = w;
        call.wo = wOffset;
        call.grad = grad;
        call.go = gradOffset;
        call.m = m;
        call.v = v;
        call.so = stateOffset;
        call.lr = lr;
        call.beta1 = beta1;
        call.beta2 = beta2;
        call.eps = eps;
        call.weightDecay = weightDecay;
        call.decoupled = decoupled;
        call.bc1 = bc1;
        call.bc2 = bc2;
        Parallel.forRange(n, PARALLEL_GRAIN, 64, call);
    }

    /** {@link #adamStep}'s arguments for the pool (see {@link Parallel.Call}). */
    private static final class AdamCall extends Parallel.RangeCall {
        float[] w, grad, m, v;
        int wo, go, so;
        float lr, beta1, beta2, eps, weightDecay, bc1, bc2;
        boolean decoupled;

        @Override
        public void run(int from, int to) {
            adamRange(w, wo + from, grad, go + from, m, v, so + from, to - from, lr, beta1, beta2, eps, weightDecay,
                    decoupled, bc1, bc2);
        }

        @Override
        void clear() {
            w = grad = m = v = null;
        }
    }

    private static final Parallel.Reused<AdamCall> ADAM_CALLS = new Parallel.Reused<>(AdamCall::new);

    private static void adamRange(float[] w, int wo, float[] grad, int go, float[] m, float[] v, int so, int n,
                                  float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled,
                                  float bc1, float bc2) {
        float stepSize = lr / bc1;
        float sqrtBc2 = (float) Math.sqrt(bc2);
        float decay = 1f - lr * weightDecay;
        int i = 0;
        int bound = S.loopBound(n);
        // one pass over w, g, m and v (the unfused form reads and writes them several times)
        for (; i < bound; i += L) {
            FloatVector wv = FloatVector.fromArray(S, w, wo + i);
            FloatVector g = FloatVector.fromArray(S, grad, go + i);
            if (decoupled) {
                wv = wv.mul(decay);
            } else if (weightDecay != 0f) {
                g = g.add(wv.mul(weightDecay));
            }
            FloatVector mv = FloatVector.fromArray(S, m, so + i).mul(beta1).add(g.mul(1f - beta1));
            FloatVector vv = FloatVector.fromArray(S, v, so + i).mul(beta2).add(g.mul(1f - beta2).mul(g));
            mv.intoArray(m, so + i);
            vv.intoArray(v, so + i);
            FloatVector denom = vv.sqrt().div(sqrtBc2).add(eps);
            wv.sub(mv.mul(stepSize).div(denom)).intoArray(w, wo + i);
        }
        if (i < n) {
            SCALAR.adamStep(w, wo + i, grad, go + i, m, v, so + i, n - i, lr, beta1, beta2, eps, weightDecay,
                    decoupled, bc1, bc2);
        }
    }
}

package dev.autograd.kernels;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the {@link Kernels} implementation once per JVM, as Lucene's {@code VectorizationProvider}
 * does: SIMD ({@code PanamaKernels}) only when {@code jdk.incubator.vector} is readable in the boot
 * layer and the VM is HotSpot with C2; otherwise the scalar reference, with one line on stderr that
 * says why and how to fix it.
 *
 * <p>The SIMD class references incubator types, so it is loaded by name and only when chosen: the
 * kernels jar runs on any classpath without the flag.
 *
 * <p>System properties: {@code autograd.simd=false} forces scalar; {@code autograd.vectorBits=128|256|512}
 * narrows the vectors (never wider than the CPU's preferred width).
 */
public final class KernelProvider {

    public static final String SIMD_PROPERTY = "autograd.simd";
    public static final String VECTOR_BITS_PROPERTY = "autograd.vectorBits";
    static final String PANAMA_CLASS = "dev.autograd.kernels.PanamaKernels";

    private static final Kernels INSTANCE = choose();

    private KernelProvider() {
    }

    /** The implementation this JVM uses. */
    public static Kernels get() {
        return INSTANCE;
    }

    /** The scalar reference, always available (the oracle of the tests). */
    public static Kernels scalar() {
        return new ScalarKernels();
    }

    /**
     * A SIMD implementation of the given width in bits (0 = the CPU's preferred width), or empty with
     * the reason in {@code why[0]} when the Vector API cannot be used here.
     */
    public static Optional<Kernels> simd(int bits, String[] why) {
        String reason = simdUnavailableReason();
        if (reason != null) {
            if (why != null) {
                why[0] = reason;
            }
            return Optional.empty();
        }
        try {
            Class<?> cls = Class.forName(PANAMA_CLASS);
            return Optional.of((Kernels) cls.getConstructor(int.class).newInstance(bits));
        } catch (ReflectiveOperationException | LinkageError e) {
            if (why != null) {
                why[0] = "cannot load " + PANAMA_CLASS + ": " + e;
            }
            return Optional.empty();
        }
    }

    private static Kernels choose() {
        if ("false".equalsIgnoreCase(System.getProperty(SIMD_PROPERTY, "true"))) {
            return new ScalarKernels(); // asked for: no warning
        }
        int bits = requestedBits();
        String[] why = new String[1];
        Optional<Kernels> simd = simd(bits, why);
        if (simd.isPresent()) {
            return simd.get();
        }
        System.err.println("WARNING: autograd uses its scalar kernels: " + why[0]);
        return new ScalarKernels();
    }

    static int requestedBits() {
        String value = System.getProperty(VECTOR_BITS_PROPERTY);
        if (value == null || value.isBlank()) {
            return 0;
        }
        return switch (value.trim()) {
            case "128" -> 128;
            case "256" -> 256;
            case "512" -> 512;
            default -> throw new IllegalArgumentException(
                    VECTOR_BITS_PROPERTY + " must be 128, 256 or 512, got '" + value + "'");
        };
    }

    /** Null when SIMD can be used, else a one-line reason naming the fix. */
    static String simdUnavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "jdk.incubator.vector is not readable; "
                    + "add --add-modules jdk.incubator.vector to the java command line for SIMD";
        }
        String vmName = System.getProperty("java.vm.name", "");
        if (!vmName.toLowerCase(Locale.ROOT).contains("hotspot") && !vmName.contains("OpenJDK")) {
            return "the VM is " + vmName + ", not HotSpot: the Vector API would run unoptimized";
        }
        String vmInfo = System.getProperty("java.vm.info", "");
        if (vmInfo.contains("interpreted mode")) {
            return "the VM runs interpreted (-Xint): the Vector API would be very slow";
        }
        if (!hasC2()) {
            return "C2 is disabled (-XX:TieredStopAtLevel < 4 or -XX:-UseCompiler): "
                    + "the Vector API needs C2 to be fast";
        }
        return null;
    }

    private static boolean hasC2() {
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-XX:TieredStopAtLevel=")) {
                try {
                    if (Integer.parseInt(arg.substring("-XX:TieredStopAtLevel=".length())) < 4) {
                        return false;
                    }
                } catch (NumberFormatException ignored) {
                    // the JVM would not have started with it; nothing to decide
                }
            }
            if (arg.equals("-XX:-UseCompiler") || arg.equals("-client")) {
                return false;
            }
        }
        return true;
    }
}

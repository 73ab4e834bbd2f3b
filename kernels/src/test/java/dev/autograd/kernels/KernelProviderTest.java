package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Which kernels the provider picks, and that it says why when it falls back. */
class KernelProviderTest {

    @Test
    void thisJvmHasSimd() {
        // surefire starts the tests with --add-modules jdk.incubator.vector
        Kernels k = KernelProvider.get();
        assertTrue(k.vectorBitSize() > 0, "expected SIMD kernels, got " + k.name());
        assertEquals("simd-" + PanamaKernels.S.vectorBitSize(), k.name());
        String bits = System.getProperty(KernelProvider.VECTOR_BITS_PROPERTY);
        if (bits != null && !bits.isBlank()) {
            assertEquals(Integer.parseInt(bits), k.vectorBitSize(), "autograd.vectorBits is honoured");
        }
    }

    @Test
    void scalarReferenceIsAlwaysThere() {
        assertEquals("scalar", KernelProvider.scalar().name());
        assertEquals(0, KernelProvider.scalar().vectorBitSize());
    }

    /** Without --add-modules the child JVM runs scalar and prints exactly one line saying how to fix it. */
    @Test
    void fallsBackToScalarWithOneWarningWithoutTheModule() throws Exception {
        Result r = runChild();
        assertEquals("scalar", r.stdout.strip());
        List<String> warnings = r.stderr.lines().filter(l -> l.contains("autograd")).toList();
        assertEquals(1, warnings.size(), "one warning line, got: " + r.stderr);
        assertTrue(warnings.get(0).startsWith("WARNING: autograd uses its scalar kernels"), warnings.get(0));
        assertTrue(warnings.get(0).contains("--add-modules jdk.incubator.vector"), warnings.get(0));
    }

    /** autograd.simd=false is a choice, not a problem: scalar and silent. */
    @Test
    void simdFalseIsScalarAndSilent() throws Exception {
        Result r = runChild("--add-modules", "jdk.incubator.vector", "-Dautograd.simd=false");
        assertEquals("scalar", r.stdout.strip());
        assertTrue(r.stderr.lines().noneMatch(l -> l.contains("autograd")), r.stderr);
    }

    record Result(String stdout, String stderr) {
    }

    private static Result runChild(String... jvmArgs) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ProviderProbe.class.getName());
        Process p = new ProcessBuilder(cmd).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM timed out");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "child failed: " + err);
        return new Result(out, err);
    }
}

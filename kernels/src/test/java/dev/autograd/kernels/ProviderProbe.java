package dev.autograd.kernels;

/** Prints the chosen kernels' name: run in a child JVM by {@link KernelProviderTest}. */
public final class ProviderProbe {
    private ProviderProbe() {
    }

    public static void main(String[] args) {
        System.out.println(KernelProvider.get().name());
    }
}

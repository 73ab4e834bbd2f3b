package dev.autograd;

/**
 * The engine's one error type, carrying PyTorch's message for the same mistake and the name of the
 * Python exception PyTorch raises for it ({@code RuntimeError} unless made by {@link #valueError} or
 * {@link #indexError}), so the CLI can print {@code <type>: <message>} as Python does.
 */
public class AutogradException extends RuntimeException {

    private final String pythonType;

    public AutogradException(String message) {
        this("RuntimeError", message, null);
    }

    public AutogradException(String message, Throwable cause) {
        this("RuntimeError", message, cause);
    }

    protected AutogradException(String pythonType, String message, Throwable cause) {
        super(message, cause);
        this.pythonType = pythonType;
    }

    /** A mistake PyTorch reports as {@code ValueError} (e.g. BatchNorm with one value per channel). */
    public static AutogradException valueError(String message) {
        return new AutogradException("ValueError", message, null);
    }

    /** A mistake PyTorch reports as {@code IndexError} (e.g. a dimension out of range). */
    public static AutogradException indexError(String message) {
        return new AutogradException("IndexError", message, null);
    }

    /** The Python exception class PyTorch raises for this mistake, e.g. {@code RuntimeError}. */
    public String pythonType() {
        return pythonType;
    }
}

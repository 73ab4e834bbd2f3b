package dev.autograd;

/**
 * The engine's one error type, carrying PyTorch's message for the same mistake
 * (the CLI prints it as {@code RuntimeError: <message>}, as Python does).
 */
public class AutogradException extends RuntimeException {

    public AutogradException(String message) {
        super(message);
    }

    public AutogradException(String message, Throwable cause) {
        super(message, cause);
    }
}

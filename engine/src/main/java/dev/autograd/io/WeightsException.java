package dev.autograd.io;

import dev.autograd.AutogradException;

/**
 * The one error a weights or data file can end with: unreadable, truncated, corrupt or hostile. The
 * message names the file and what is wrong with it, in one line; nothing has been loaded when it is
 * thrown.
 */
public class WeightsException extends AutogradException {

    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.autograd.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Weights and data files: one entry point that tells the formats apart by their content, not their
 * name. Reads safetensors, PyTorch's zip {@code .pth} (torch.save since 1.6) and the legacy
 * {@code .pth} format; writes safetensors. Every failure is a {@link WeightsException} with one line
 * naming the file, and nothing is returned unless the whole file was read.
 */
public final class Weights {

    /** The formats {@link #detect} tells apart. */
    public enum Format {
        SAFETENSORS("safetensors"),
        TORCH_ZIP("PyTorch zip (torch.save, PyTorch >= 1.6)"),
        TORCH_LEGACY("PyTorch legacy (torch.save, PyTorch < 1.6)");

        private final String description;

        Format(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    private Weights() {
    }

    /** Which format a file holds, from its first bytes. */
    public static Format detect(Path file) {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(512);
        } catch (IOException e) {
            throw ioError(file.toString(), e);
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5)) {
            return Format.TORCH_ZIP;
        }
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            return Format.TORCH_LEGACY; // a pickle: the legacy format starts with one
        }
        if (head.length > 262 && new String(head, 257, 5, java.nio.charset.StandardCharsets.US_ASCII).equals("ustar")) {
            throw new WeightsException(file + ": a tar-format PyTorch file (PyTorch < 0.4?) is not supported; convert it "
                    + "in Python with a recent PyTorch: torch.save(torch.load(f), g)");
        }
        if (head.length >= 9 && head[8] == '{') {
            return Format.SAFETENSORS;
        }
        if (head.length >= 8) { // a plausible header length: a damaged safetensors file, say so in its terms
            long n = java.nio.ByteBuffer.wrap(head, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            try {
                if (n > 0 && n <= SafeTensors.MAX_HEADER_LENGTH && n <= Files.size(file) - 8) {
                    return Format.SAFETENSORS;
                }
            } catch (IOException e) {
                throw ioError(file.toString(), e);
            }
        }
        throw new WeightsException(file + ": not a weights file: neither safetensors nor a PyTorch .pth (zip or legacy)"
                + (head.length < 9 ? " (" + head.length + " bytes)" : ""));
    }

    /** Every tensor of a weights or data file, in file order. */
    public static LinkedHashMap<String, TensorData> read(Path file) {
        return switch (detect(file)) {
            case SAFETENSORS -> SafeTensors.read(file).tensors();
            case TORCH_ZIP -> TorchFiles.readZip(file);
            case TORCH_LEGACY -> TorchFiles.readLegacy(file);
        };
    }

    /** The tensors' names, dtypes and shapes, without reading their data. */
    public static List<TensorInfo> list(Path file) {
        return switch (detect(file)) {
            case SAFETENSORS -> SafeTensors.list(file);
            case TORCH_ZIP -> TorchFiles.listZip(file);
            case TORCH_LEGACY -> TorchFiles.listLegacy(file);
        };
    }

    /** Writes tensors as safetensors (the only format written), replacing the file atomically. */
    public static void write(Path file, Map<String, TensorData> tensors) {
        SafeTensors.write(file, tensors, Map.of());
    }

    static WeightsException ioError(String where, IOException e) {
        String why = switch (e) {
            case NoSuchFileException x -> "No such file or directory";
            case AccessDeniedException x -> "Permission denied";
            case EOFException x -> "unexpected end of file: truncated?";
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
        return new WeightsException(where + ": " + why, e);
    }

    interface FileWriter {
        void write(Path tmp) throws IOException;
    }

    /** Writes through a temporary sibling file, moved over {@code file} only when complete. */
    static void writeAtomically(Path file, FileWriter writer) {
        Path absolute = file.toAbsolutePath();
        Path tmp = absolute.resolveSibling(absolute.getFileName() + ".tmp" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            writer.write(tmp);
            try {
                Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw ioError(file.toString(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: the temporary file is named after the target
            }
        }
    }
}

package dev.autograd.nn;

import dev.autograd.AutogradException;
import dev.autograd.Tensor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * PyTorch's {@code nn.Module}: parameters, buffers and child modules registered by name, so that
 * {@link #namedParameters()} and {@link #stateDict()} give PyTorch's dotted names in PyTorch's order
 * (a module's own parameters, then its own buffers, then each child's, depth first).
 *
 * <p>Layers keep their parameters and children in public fields too, for reading
 * ({@code model.fc}), and register them under the field's name. {@link #setChild} replaces a child
 * in the registry and in the field of that name: the tutorial's {@code model.fc = nn.Linear(512, 10)}
 * is {@code model.setChild("fc", new Linear(512, 10))}.
 */
public abstract class Module {

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** The computation; {@link #forward} is what callers use, as PyTorch's {@code module(x)}. */
    public abstract Tensor forward(Tensor x);

    // ---------------------------------------------------------------- registration

    /** Registers a parameter (a leaf that requires grad, or null for an absent bias). */
    protected final Tensor registerParameter(String name, Tensor parameter) {
        checkName(name);
        parameters.put(name, parameter);
        return parameter;
    }

    /** Registers a buffer: state that is saved but not trained (BatchNorm's running statistics). */
    protected final Tensor registerBuffer(String name, Tensor buffer) {
        checkName(name);
        buffers.put(name, buffer);
        return buffer;
    }

    /** Registers a child module; its parameters appear under {@code name + "."}. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private static void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) {
            throw new AutogradException("module name can't contain \".\", got: " + name);
        }
    }

    /**
     * Replaces (or adds) the child called {@code name}, and assigns the public field of that name if
     * the module has one, as Python's attribute assignment does. Returns {@code module}.
     */
    public <M extends Module> M setChild(String name, M module) {
        checkName(name);
        children.put(name, module);
        for (Class<?> c = getClass(); c != Module.class; c = c.getSuperclass()) {
            try {
                Field field = c.getDeclaredField(name);
                if (!Modifier.isStatic(field.getModifiers()) && !Modifier.isFinal(field.getModifiers())
                        && field.getType().isInstance(module)) {
                    field.setAccessible(true);
                    field.set(this, module);
                } else if (!field.getType().isInstance(module)) {
                    throw new AutogradException("cannot assign '" + module.getClass().getSimpleName()
                            + "' as child module '" + name + "' (field type " + field.getType().getSimpleName() + ")");
                }
                break;
            } catch (NoSuchFieldException e) {
                // not declared here; look in the superclass
            } catch (IllegalAccessException e) {
                throw new AutogradException("cannot assign child module '" + name + "': " + e.getMessage(), e);
            }
        }
        return module;
    }

    /** The child called {@code name}, or null. */
    public Module child(String name) {
        return children.get(name);
    }

    /** The direct children, by name, in registration order. */
    public Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    public List<Module> children() {
        return List.copyOf(children.values());
    }

    /** This module and every descendant, with dotted names ("" for this one), depth first. */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        children.forEach((name, child) -> child.collectModules(prefix.isEmpty() ? name : prefix + "." + name, out));
    }

    // ---------------------------------------------------------------- parameters and buffers

    /** Every parameter with its dotted name, in PyTorch's order (absent ones, like bias=False, skipped). */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> m.parameters.forEach((name, p) -> {
            if (p != null) {
                out.putIfAbsent(prefix + name, p);
            }
        }));
        return out;
    }

    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Every buffer with its dotted name. */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> m.buffers.forEach((name, b) -> {
            if (b != null) {
                out.put(prefix + name, b);
            }
        }));
        return out;
    }

    /** Depth first, a module before its children, with the prefix of its names ("" or "layer1.0."). */
    private void visit(String prefix, BiConsumer<String, Module> action) {
        action.accept(prefix, this);
        children.forEach((name, child) -> child.visit(prefix + name + ".", action));
    }

    /**
     * PyTorch's {@code state_dict()}: per module its parameters then its buffers, then the children;
     * the values are the module's own tensors (detached views sharing storage, as in PyTorch).
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.parameters.forEach((name, p) -> {
                if (p != null) {
                    out.put(prefix + name, p.detach());
                }
            });
            m.buffers.forEach((name, b) -> {
                if (b != null) {
                    out.put(prefix + name, b.detach());
                }
            });
        });
        return out;
    }

    /**
     * Copies the values of {@code state} into this module's parameters and buffers, PyTorch's
     * {@code load_state_dict}. Shapes must match; with {@code strict}, the key sets must be equal.
     * Errors are collected and reported together, with PyTorch's wording; nothing is copied when
     * there is any error.
     */
    public LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.parameters.forEach((name, p) -> {
                if (p != null) {
                    own.put(prefix + name, p);
                }
            });
            m.buffers.forEach((name, b) -> {
                if (b != null) {
                    own.put(prefix + name, b);
                }
            });
        });
        // BatchNorm's _load_from_state_dict: a state_dict without version metadata (ours never carry
        // any) that lacks num_batches_tracked, e.g. torchvision's resnet18-5c106cde.pth, loads it as 0
        Map<String, Tensor> defaults = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            if (m instanceof BatchNorm2d && m.buffers.get("num_batches_tracked") != null
                    && !state.containsKey(prefix + "num_batches_tracked")) {
                defaults.put(prefix + "num_batches_tracked", Tensor.scalarLong(0));
            }
        });
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> sizeErrors = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor given = state.containsKey(e.getKey()) ? state.get(e.getKey()) : defaults.get(e.getKey());
            if (given == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(given.shape(), e.getValue().shape())) {
                sizeErrors.add("size mismatch for " + e.getKey() + ": copying a param with shape "
                        + Tensors.sizeString(given.shape()) + " from checkpoint, the shape in current model is "
                        + Tensors.sizeString(e.getValue().shape()) + ".");
            }
        }
        for (String key : state.keySet()) {
            if (!own.containsKey(key)) {
                unexpected.add(key);
            }
        }
        List<String> errors = new ArrayList<>();
        if (strict && !missing.isEmpty()) {
            errors.add("Missing key(s) in state_dict: " + quoted(missing) + ". ");
        }
        if (strict && !unexpected.isEmpty()) {
            errors.add("Unexpected key(s) in state_dict: " + quoted(unexpected) + ". ");
        }
        errors.addAll(sizeErrors);
        if (!errors.isEmpty()) {
            throw new AutogradException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ":\n\t"
                    + String.join("\n\t", errors));
        }
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor given = state.containsKey(e.getKey()) ? state.get(e.getKey()) : defaults.get(e.getKey());
            if (given != null) {
                Tensors.copyInto(given, e.getValue());
            }
        }
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    /** {@code loadStateDict(state, true)}. */
    public LoadResult loadStateDict(Map<String, Tensor> state) {
        return loadStateDict(state, true);
    }

    /** What {@link #loadStateDict} did not match (empty lists when strict), as PyTorch returns it. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {
        @Override
        public String toString() {
            return missingKeys.isEmpty() && unexpectedKeys.isEmpty() ? "<All keys matched successfully>"
                    : "_IncompatibleKeys(missing_keys=" + missingKeys + ", unexpected_keys=" + unexpectedKeys + ")";
        }
    }

    private static String quoted(List<String> keys) {
        StringBuilder sb = new StringBuilder();
        for (String k : keys) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append('"').append(k).append('"');
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- modes and gradients

    /** Training mode for this module and every descendant (BatchNorm uses batch statistics). */
    public Module train() {
        return train(true);
    }

    public Module train(boolean mode) {
        visit("", (prefix, m) -> m.training = mode);
        return this;
    }

    /** Evaluation mode (BatchNorm uses its running statistics). */
    public Module eval() {
        return train(false);
    }

    public boolean isTraining() {
        return training;
    }

    /** Sets every parameter's gradient to null (PyTorch 2's default). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /** With {@code setToNone} false, zero-fills existing gradients instead. */
    public void zeroGrad(boolean setToNone) {
        for (Tensor p : parameters()) {
            Tensors.zeroGrad(p, setToNone);
        }
    }

    /** PyTorch's {@code requires_grad_()} on every parameter: false freezes the module. */
    public Module requiresGrad_(boolean requiresGrad) {
        for (Tensor p : parameters()) {
            p.requiresGrad_(requiresGrad);
        }
        return this;
    }

    /** Number of parameter elements. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : parameters()) {
            n += p.numel();
        }
        return n;
    }

    /** A short description, as PyTorch's {@code extra_repr}. */
    protected String extraRepr() {
        return "";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            sb.append('\n');
            children.forEach((name, child) -> sb.append("  (").append(name).append("): ")
                    .append(child.toString().replace("\n", "\n  ")).append('\n'));
        }
        return sb.append(')').toString();
    }
}

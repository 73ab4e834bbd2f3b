package dev.autograd.nn;

import dev.autograd.Tensor;

/** PyTorch's {@code nn.Sequential}: children named "0", "1", ... applied in order. */
public class Sequential extends Module {

    public Sequential(Module... modules) {
        for (int i = 0; i < modules.length; i++) {
            registerModule(Integer.toString(i), modules[i]);
        }
    }

    /** The i-th child. */
    public Module get(int i) {
        return child(Integer.toString(i));
    }

    public int size() {
        return namedChildren().size();
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : namedChildren().values()) {
            x = m.forward(x);
        }
        return x;
    }
}

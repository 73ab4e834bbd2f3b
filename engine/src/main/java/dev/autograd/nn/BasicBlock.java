package dev.autograd.nn;

import dev.autograd.Tensor;

/** torchvision's {@code BasicBlock}: two 3x3 convs with batch norm, plus the identity or a downsample. */
public class BasicBlock extends Module {

    public static final int EXPANSION = 1;

    public Conv2d conv1;
    public BatchNorm2d bn1;
    public ReLU relu;
    public Conv2d conv2;
    public BatchNorm2d bn2;
    public Module downsample;
    public final int stride;

    public BasicBlock(int inplanes, int planes, int stride, Module downsample) {
        // Both conv1 and downsample downsample the input when stride != 1
        this.conv1 = registerModule("conv1", ResNet.conv3x3(inplanes, planes, stride));
        this.bn1 = registerModule("bn1", new BatchNorm2d(planes));
        this.relu = registerModule("relu", new ReLU(true));
        this.conv2 = registerModule("conv2", ResNet.conv3x3(planes, planes, 1));
        this.bn2 = registerModule("bn2", new BatchNorm2d(planes));
        if (downsample != null) {
            this.downsample = registerModule("downsample", downsample);
        }
        this.stride = stride;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor identity = x;

        Tensor out = conv1.forward(x);
        out = bn1.forward(out);
        out = relu.forward(out);

        out = conv2.forward(out);
        out = bn2.forward(out);

        if (downsample != null) {
            identity = downsample.forward(x);
        }

        out = out.add_(identity); // torchvision: out += identity
        out = relu.forward(out);

        return out;
    }
}
